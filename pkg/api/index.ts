// streamkit-ts/api: what applications and backend authors use — the data types, the one error
// class and its kinds, name rules, message type names, the transport-facing stream interfaces and
// the logger interface. The wire codec and shared helpers are internal (./internal/index.ts).
export type { Entry, LeaseResult, Producer, Record, Retention, SegmentStatus, SpaceStatus, StoreStatus, Trx, WorkerInfo, WorkerInventory } from "./types.js";
export { ERROR_KINDS, type ErrorCode, type ErrorInfo, type ErrorKind, isErrorKind, StreamsError, type StreamsErrorOptions } from "./errors.js";
export { compareNames, isValidName, isValidStoreId, MAX_NAME_BYTES, nameProblem, WILDCARD } from "./names.js";
export { API_PREFIX, type MessageType, MessageTypes } from "./messages.js";
export type { ClientStream, ConnectionState, ConnectionStatus, Principal, Provider, ServerStream, StreamOrigin } from "./stream.js";
export type { RetryPolicy } from "./retry.js";
export { type Logger, silentLogger } from "./logger.js";
