import type { Record } from "../api/index.js";
import type { RecordSource } from "./types.js";

// Type checks of SDK arguments: a wrong JS type is a programmer mistake, thrown as TypeError before
// anything is sent. Values of the right type but invalid (bad names, sequence 0, …) are the server's
// to judge, so they come back as `invalid_argument` like from any other client.

export type Fields = { [key: string]: unknown };

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function requireString(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
}

export function requireBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
}

/** An options or query object: a plain object. */
export function requireObject(value: unknown, name: string): Fields {
  if (!isPlainObject(value)) throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  return value;
}

/** Trailing options: a plain object or undefined (read as `{}`). */
export function optionalObject(value: unknown, name: string): Fields {
  return value === undefined ? {} : requireObject(value, name);
}

export function optionalNumber(value: unknown, name: string): number | undefined {
  if (value !== undefined && typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  return value;
}

export function optionalString(value: unknown, name: string): string | undefined {
  if (value !== undefined && typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  return value;
}

export function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function requireSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
}

/** A string → string map (record metadata, offsets). */
export function requireStringMap(value: unknown, name: string): asserts value is { [key: string]: string } {
  const fields = requireObject(value, name);
  for (const [key, entry] of Object.entries(fields)) requireString(entry, `${name}.${key}`);
}

/** A positive integer client option such as `batchSize`. */
export function requireCount(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

export function requireRecord(value: unknown, name: string): Record {
  const fields = requireObject(value, name);
  if (typeof fields.sequence !== "number") throw new TypeError(`${name}.sequence must be a number, got ${describe(fields.sequence)}`);
  requireBytes(fields.payload, `${name}.payload`);
  if (fields.metadata !== undefined) requireStringMap(fields.metadata, `${name}.metadata`);
  return value as Record;
}

export function requireRecordSource(value: unknown, name: string): RecordSource {
  const iterable = typeof value === "object" && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value);
  if (!iterable) throw new TypeError(`${name} must be an Iterable or AsyncIterable of records, got ${describe(value)}`);
  return value as RecordSource;
}
