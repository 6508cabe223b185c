import { invalidArgument, StreamsError } from "../errors.js";
import { MAX_PUBLISH_BATCH, type Message, MessageTypes } from "../messages.js";
import { assertName, assertSegmentPattern } from "../names.js";
import type { Retention } from "../types.js";

/** Checks one field of a decoded message; throws `invalid_argument` naming the field. */
type FieldCheck = (value: unknown, field: string) => void;

const optional =
  (check: FieldCheck): FieldCheck =>
  (value, field) => {
    if (value !== undefined && value !== null) check(value, field);
  };

const name: FieldCheck = (value, field) => assertName(value, field);

const string: FieldCheck = (value, field) => {
  if (typeof value !== "string") throw invalidArgument(field, "must be a string");
};

const bool: FieldCheck = (value, field) => {
  if (typeof value !== "boolean") throw invalidArgument(field, "must be a boolean");
};

/** A bound or limit: a safe integer ≥ 0 (0 means unbounded). */
const uint: FieldCheck = (value, field) => {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw invalidArgument(field, "must be an integer");
  if (value < 0) throw invalidArgument(field, "must not be negative");
};

/** A duration that may be fractional (the server clamps it): a finite number ≥ 0. */
const nonNegativeNumber: FieldCheck = (value, field) => {
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalidArgument(field, "must be a finite number");
  if (value < 0) throw invalidArgument(field, "must not be negative");
};

export const checkSequence: FieldCheck = (value, field) => {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw invalidArgument(field, "must be an integer >= 1");
  }
};

export const checkBytes: FieldCheck = (value, field) => {
  if (!(value instanceof Uint8Array)) throw invalidArgument(field, "must be binary (Uint8Array)");
};

export const checkMetadata: FieldCheck = (value, field) => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalidArgument(field, "must be an object of strings");
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") throw invalidArgument(`${field}.${key}`, "must be a string");
  }
};

const offsets: FieldCheck = (value, field) => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalidArgument(field, "must be an object mapping space names to offsets");
  }
  const keys = Object.keys(value);
  if (keys.length === 0) throw invalidArgument(field, "must name at least one space");
  for (const key of keys) {
    assertName(key, `${field} key`);
    string((value as { [key: string]: unknown })[key], `${field}.${key}`);
  }
};

export const checkRecord: FieldCheck = (value, field) => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidArgument(field, "must be a record object");
  const record = value as { [key: string]: unknown };
  checkSequence(record.sequence, `${field}.sequence`);
  checkBytes(record.payload, `${field}.payload`);
  optional(checkMetadata)(record.metadata, `${field}.metadata`);
};

/** An idempotent publish's stamp (Producer): a name-like id, an epoch and a sequence, each an integer >= 0. */
export const checkProducer: FieldCheck = (value, field) => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalidArgument(field, "must be a producer object { id, epoch, sequence }");
  }
  const producer = value as { [key: string]: unknown };
  name(producer.id, `${field}.id`);
  uint(producer.epoch, `${field}.epoch`);
  uint(producer.sequence, `${field}.sequence`);
};

/** One publish of a publish_batch; a server checks each on its own, so that a bad one fails alone. */
export const checkPublishItem: FieldCheck = (value, field) => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalidArgument(field, "must be a publish object");
  }
  const item = value as { [key: string]: unknown };
  name(item.space, `${field}.space`);
  name(item.segment, `${field}.segment`);
  checkBytes(item.payload, `${field}.payload`);
  optional(checkMetadata)(item.metadata, `${field}.metadata`);
  optional(checkProducer)(item.producer, `${field}.producer`);
};

/** Payload bytes of a publish_batch item not checked yet: 0 when it has no binary payload (it fails its check later). */
export function uncheckedPayloadBytes(item: unknown): number {
  const payload = (item as { payload?: unknown } | null)?.payload;
  return payload instanceof Uint8Array ? payload.byteLength : 0;
}

const publishItems: FieldCheck = (value, field) => {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PUBLISH_BATCH) {
    throw invalidArgument(field, `must be an array of 1 to ${MAX_PUBLISH_BATCH} publishes`);
  }
};

const records: FieldCheck = (value, field) => {
  if (!Array.isArray(value)) throw invalidArgument(field, "must be an array of records");
  for (let i = 0; i < value.length; i++) checkRecord(value[i], `${field}[${i}]`);
};

/** Fields of a Retention: each absent or an integer >= 0 (0 = no bound). */
export const RETENTION_FIELDS = ["maxAgeMs", "maxEntriesPerSegment", "maxBytesPerSegment"] as const;

/** A retention object (docs/lifecycle.md): only its known fields, each an integer >= 0. */
export const checkRetention: FieldCheck = (value, field) => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalidArgument(field, "must be a retention object");
  }
  for (const key of Object.keys(value)) {
    if (!(RETENTION_FIELDS as readonly string[]).includes(key)) throw invalidArgument(`${field}.${key}`, "is not a retention field");
    optional(uint)((value as { [key: string]: unknown })[key], `${field}.${key}`);
  }
};

/** A retention with its unbounded fields (absent or 0) left out. */
export function normalizeRetention(retention: Retention): Retention {
  const normalized: Retention = {};
  for (const key of RETENTION_FIELDS) {
    const bound = retention[key];
    if (typeof bound === "number" && bound > 0) normalized[key] = bound;
  }
  return normalized;
}

/** Lease TTL: an integer in 1..86,400,000 (24 h). */
export const MAX_LEASE_TTL_MS = 86_400_000;
const ttl: FieldCheck = (value, field) => {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > MAX_LEASE_TTL_MS) {
    throw invalidArgument(field, `must be an integer in 1..${MAX_LEASE_TTL_MS}`);
  }
};

const segmentPattern: FieldCheck = (value, field) => assertSegmentPattern(value, field);

const readBounds = {
  minTimestamp: optional(uint),
  maxTimestamp: optional(uint),
  limit: optional(uint),
  follow: optional(bool),
};

/** Field checks of each message a server receives. */
const SCHEMAS: { [type: string]: { [field: string]: FieldCheck } } = {
  [MessageTypes.produce]: { space: name, segment: name },
  [MessageTypes.recordBatch]: { records },
  [MessageTypes.publish]: { space: name, segment: name, payload: checkBytes, metadata: optional(checkMetadata), producer: optional(checkProducer), lane: optional(bool) },
  [MessageTypes.publishBatch]: { publishes: publishItems },
  [MessageTypes.consumeSegment]: {
    space: name,
    segment: name,
    minSequence: optional(uint),
    maxSequence: optional(uint),
    offset: optional(string),
    ...readBounds,
  },
  [MessageTypes.consumeSpace]: { space: name, offset: optional(string), ...readBounds },
  [MessageTypes.consume]: { offsets, ...readBounds },
  [MessageTypes.peek]: { space: name, segment: name },
  [MessageTypes.getSpaces]: {},
  [MessageTypes.getSegments]: { space: name },
  [MessageTypes.getStatus]: {},
  [MessageTypes.subscribeToSegmentStatus]: { space: name, segment: segmentPattern, heartbeatIntervalSeconds: optional(nonNegativeNumber) },
  [MessageTypes.leaseAcquire]: { key: name, holder: name, ttlMs: ttl },
  [MessageTypes.leaseRenew]: { key: name, holder: name, ttlMs: ttl },
  [MessageTypes.leaseRelease]: { key: name, holder: name },
  [MessageTypes.subscribeWorkers]: { workerId: optional(name), metadata: optional(checkMetadata), keepaliveMs: optional(uint) },
  [MessageTypes.workerKeepalive]: {},
  [MessageTypes.deleteSegment]: { space: name, segment: name, purge: optional(bool) },
  [MessageTypes.deleteSpace]: { space: name, purge: optional(bool) },
  [MessageTypes.deleteStore]: {},
  [MessageTypes.truncateSegment]: { space: name, segment: name, beforeSequence: checkSequence },
  [MessageTypes.closeSegment]: { space: name, segment: name },
  [MessageTypes.setRetention]: { space: name, retention: checkRetention },
  [MessageTypes.getRetention]: { space: name },
};

/** Whether the server knows how to receive messages of this type. */
export function isKnownRequestType(type: string): boolean {
  return Object.hasOwn(SCHEMAS, type);
}

/**
 * Validates a decoded message a server received: known type, every field of the right type.
 * Throws `invalid_argument` whose message names the offending field.
 */
export function validateMessage(value: unknown): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StreamsError("invalid_argument", "message: must be an object with a $type");
  }
  const message = value as { [key: string]: unknown };
  const type = message.$type;
  if (typeof type !== "string") throw invalidArgument("$type", "must be a message type string");
  const schema = SCHEMAS[type];
  if (schema === undefined || !Object.hasOwn(SCHEMAS, type)) throw invalidArgument("$type", `unknown message type '${type}'`);
  for (const [field, check] of Object.entries(schema)) check(message[field], field);
  return value as Message;
}
