import { afterAll, beforeAll } from "vitest";
import type { Entry, Record } from "../../pkg/client/index.js";
import type { Configuration, Harness } from "./matrix.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (payload: Uint8Array): string => decoder.decode(payload);

/** `count` records from sequence `first`, payload `<tag>-<sequence>`. */
export function records(first: number, count: number, tag = "r"): Record[] {
  return Array.from({ length: count }, (_, i) => ({ sequence: first + i, payload: bytes(`${tag}-${first + i}`) }));
}

export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** What identifies an entry in order checks: `segment:sequence`. */
export const keyOf = (entry: Entry): string => `${entry.segment}:${entry.sequence}`;

/** Sets up one harness for a describe block, torn down after it. */
export function useHarness(configuration: Configuration): () => Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await configuration.setup();
  });
  afterAll(async () => {
    await harness?.teardown();
  });
  return () => {
    if (harness === undefined) throw new Error("harness not set up");
    return harness;
  };
}

/** Runs `call` and returns what it threw or rejected with (fails when it succeeds). */
export async function failureOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}
