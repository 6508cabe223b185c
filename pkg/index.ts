// `import … from "streamkit-ts"`: what an application needs to talk to a server — the client SDK,
// the WebSocket provider and the public API types. Server parts have their own subpaths.
export * from "./api/index.js";
export * from "./client/index.js";
export * from "../transport/ws/client/index.js";
