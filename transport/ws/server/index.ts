export type { Access } from "./access.js";
export type { ConnectionInfo, StreamInfo } from "../../../pkg/server/operator/connections.js";
export { CloseCodes } from "../protocol.js";
export { STREAMZ_DEFAULTS, type StreamzOptions } from "./options.js";
export { attachStreamz, type StreamzCloseOptions, type StreamzServer } from "./server.js";
