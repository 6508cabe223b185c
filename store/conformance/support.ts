import assert from "node:assert/strict";
import { type Record, StreamsError } from "../../pkg/api/index.js";
import type { StoredEntry } from "../types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (payload: Uint8Array): string => decoder.decode(payload);

/** Records `from`..`to` whose payloads name their sequence (and `tag`, to tell producers apart). */
export function records(from: number, to: number, tag = "r"): Record[] {
  const batch: Record[] = [];
  for (let sequence = from; sequence <= to; sequence++) batch.push({ sequence, payload: bytes(`${tag}-${sequence}`) });
  return batch;
}

export async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

/** The error a call fails with, whether it throws, rejects, or its iterator fails on the first `next()`. */
export async function failure(call: () => unknown): Promise<StreamsError> {
  try {
    const result = call();
    if (result instanceof Promise) await result;
    else if (result !== null && typeof result === "object" && Symbol.asyncIterator in result) {
      await (result as AsyncIterableIterator<unknown>).next();
    }
  } catch (error) {
    assert.ok(error instanceof StreamsError, `expected a StreamsError, got ${String(error)}`);
    return error;
  }
  throw new Error("expected the call to fail");
}

export const sequences = (entries: readonly StoredEntry[]): number[] => entries.map((entry) => entry.sequence);
export const payloads = (entries: readonly StoredEntry[]): string[] => entries.map((entry) => text(entry.payload));

/** Checks what every space read must hold: positions strictly increasing, timestamps non-decreasing, each segment in order. */
export function expectCommitOrder(entries: readonly StoredEntry[]): void {
  const lastOfSegment = new Map<string, number>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as StoredEntry;
    if (i > 0) {
      const previous = entries[i - 1] as StoredEntry;
      greater(entry.position, previous.position);
      atLeast(entry.timestamp, previous.timestamp);
    }
    assert.strictEqual(entry.sequence, (lastOfSegment.get(entry.segment) ?? 0) + 1);
    lastOfSegment.set(entry.segment, entry.sequence);
  }
}

const realNow = Date.now;

/**
 * Fakes only the clock: `Date.now()` answers `ms` until `realClock()`, so timestamps are chosen by
 * the test and nothing else (timers included) changes. Stores read time through `Date.now()`.
 */
export function clockAt(ms: number): void {
  Date.now = () => ms;
}

export function realClock(): void {
  Date.now = realNow;
}

/** `actual` cut down to the keys (at any depth) that `expected` names, for a subset comparison. */
function projection(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual) && actual.length === expected.length) {
    return actual.map((item, i) => projection(item, expected[i]));
  }
  if (expected === null || typeof expected !== "object" || Array.isArray(expected) || ArrayBuffer.isView(expected)) return actual;
  if (actual === null || typeof actual !== "object") return actual;
  const cut: { [key: string]: unknown } = {};
  for (const key of Object.keys(expected)) {
    if (key in actual) cut[key] = projection((actual as { [key: string]: unknown })[key], (expected as { [key: string]: unknown })[key]);
  }
  return cut;
}

/** Asserts that `actual` has every property of `expected`, recursively (others may be there too). */
export function matches(actual: unknown, expected: object): void {
  assert.deepStrictEqual(projection(actual, expected), expected);
}

/** The reason `promise` rejects with; fails if it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail("expected the promise to reject"),
    (reason: unknown) => reason,
  );
}

export function greater(actual: number | undefined, than: number): void {
  assert.ok(actual !== undefined && actual > than, `expected ${actual} > ${than}`);
}

export function atLeast(actual: number | undefined, than: number): void {
  assert.ok(actual !== undefined && actual >= than, `expected ${actual} >= ${than}`);
}
