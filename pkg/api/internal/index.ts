// streamkit-ts/api/internal: the wire codec (frames, messages, validation), offsets and the helpers
// the SDK, the server and the transports share, plus everything public. Not a stable API: it
// changes with the protocol.
export * from "../index.js";
export * from "../messages.js";
export * from "../errors.js";
export * from "../names.js";
export * from "../retry.js";
export * from "./codec.js";
export * from "./entry-groups.js";
export * from "./frames.js";
export * from "./offsets.js";
export * from "./timer.js";
export {
  checkBytes,
  checkMetadata,
  checkProducer,
  checkPublishItem,
  checkRecord,
  checkRetention,
  normalizeRetention,
  checkSequence,
  isKnownRequestType,
  MAX_LEASE_TTL_MS,
  uncheckedPayloadBytes,
  validateMessage,
} from "./validate.js";
export * from "./options.js";
export { checkUnreserved, PRODUCER_METADATA, RESERVED_METADATA_PREFIX } from "./producer-metadata.js";
