import { decodeAny, type Entry, type Response, StreamsError } from "../api/internal/index.js";

/** Decodes a server message and checks it is of `type`; anything else is a protocol fault (`internal`). */
export function decodeReply<T extends Response["$type"]>(bytes: Uint8Array, type: T): Extract<Response, { $type: T }> {
  const message = decodeAny(bytes);
  const actual = typeof message === "object" && message !== null ? (message as { $type?: unknown }).$type : undefined;
  if (actual !== type) throw new StreamsError("internal", `unexpected reply: expected ${type}, got ${String(actual)}`);
  return message as Extract<Response, { $type: T }>;
}

/** A message without its `$type` discriminator: what the SDK hands to callers. */
export function withoutType<T extends { $type: string }>(message: T): Omit<T, "$type"> {
  const { $type: _type, ...rest } = message;
  return rest;
}

/**
 * An entry as callers get it: its payload a plain Uint8Array. Decoders in Node hand out Buffers
 * (a subclass with other semantics, unequal to a Uint8Array in deep equality); a view is free.
 */
export function toEntry(entry: Entry): Entry {
  const payload = entry.payload;
  if (payload.constructor !== Uint8Array) entry.payload = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  return entry;
}
