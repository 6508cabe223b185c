// streamkit-ts/api/internal: the wire codec (frames, messages, validation), offsets and the helpers
// the SDK, the server and the transports share, plus everything public. Not a stable API: it
// changes with the protocol.
export * from "../index.js";
export * from "../messages.js";
export { cancelledError, codeOf, invalidArgument, sequenceConflict } from "../errors.js";
export { assertName, assertSegmentPattern, normalizeStoreId } from "../names.js";
export { checkRetryPolicy, retryDelay } from "../retry.js";
export * from "./codec.js";
export * from "./entry-groups.js";
export * from "./frames.js";
export * from "./offsets.js";
export * from "./timer.js";
export {
  checkBytes,
  checkMetadata,
  checkPublishItem,
  checkRecord,
  checkSequence,
  isKnownRequestType,
  MAX_LEASE_TTL_MS,
  uncheckedPayloadBytes,
  validateMessage,
} from "./validate.js";
