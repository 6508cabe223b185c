export type { Access } from "./access.js";
export type { StreamInfo } from "./channel.js";
export { CloseCodes, type ConnectionInfo } from "./connection.js";
export { STREAMZ_DEFAULTS, type StreamzOptions } from "./options.js";
export { attachStreamz, type StreamzCloseOptions, type StreamzServer } from "./server.js";
