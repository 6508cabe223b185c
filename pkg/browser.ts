// The browser entry of "streamkit-ts": the same surface as ./index.ts, with the WebSocket provider
// that uses the global WebSocket (no Node built-ins, no `ws`).
export * from "./api/index.js";
export * from "./client/index.js";
export * from "../transport/ws/client/browser.js";
