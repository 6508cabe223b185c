import { expect, vi } from "vitest";
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
    expect(error).toBeInstanceOf(StreamsError);
    return error as StreamsError;
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
      expect(entry.position).toBeGreaterThan(previous.position);
      expect(entry.timestamp).toBeGreaterThanOrEqual(previous.timestamp);
    }
    expect(entry.sequence).toBe((lastOfSegment.get(entry.segment) ?? 0) + 1);
    lastOfSegment.set(entry.segment, entry.sequence);
  }
}

/** Fakes only the clock, so timestamps are chosen by the test and nothing else changes. */
export function clockAt(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(ms);
}
