// The browser entry of streamkit-ts/transport/ws: only the client provider, nothing that needs Node.
export * from "./client/browser.js";
