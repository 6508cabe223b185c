export * from "./codec.js";
export * from "./entry-groups.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./names.js";
export * from "./offsets.js";
export * from "./stream.js";
export * from "./types.js";
export {
  checkBytes,
  checkMetadata,
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
export * from "./frames.js";
export * from "./retry.js";
