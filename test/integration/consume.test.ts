import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Entry, StreamsClient } from "../../pkg/client/index.js";
import { collect, keyOf, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

// Commit times are set with a fake Date (timers stay real), so every timestamp below is exact.
const T = Date.UTC(2030, 0, 1);

/** Produces `count` records from `first` to one segment, committed at time `at`. */
async function produceAt(client: StreamsClient, storeId: string, at: number, space: string, segment: string, first: number, count: number) {
  vi.setSystemTime(at);
  await client.produce(storeId, space, segment, records(first, count, `${space}/${segment}`));
}

const sequences = (entries: Entry[]) => entries.map((e) => e.sequence);

describe.each(configurations)("reads over $name", (configuration) => {
  const harness = useHarness(configuration);
  let storeId = "";
  /** Space "orders" in commit order, as `segment:sequence`. */
  const commitOrder = ["o-1:1", "o-1:2", "o-2:1", "o-1:3", "o-3:1", "o-3:2", "o-2:2", "o-2:3", "o-1:4"];

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { client, newStoreId } = harness();
    storeId = newStoreId();
    // Segment "g" of space "bounds": 1–3 at T+1000, 4–6 at T+2000, 7–10 at T+3000.
    await produceAt(client, storeId, T + 1_000, "bounds", "g", 1, 3);
    await produceAt(client, storeId, T + 2_000, "bounds", "g", 4, 3);
    await produceAt(client, storeId, T + 3_000, "bounds", "g", 7, 4);
    // Space "orders": three segments interleaved (commitOrder).
    await produceAt(client, storeId, T + 1_000, "orders", "o-1", 1, 2);
    await produceAt(client, storeId, T + 1_000, "orders", "o-2", 1, 1);
    await produceAt(client, storeId, T + 2_000, "orders", "o-1", 3, 1);
    await produceAt(client, storeId, T + 2_000, "orders", "o-3", 1, 2);
    await produceAt(client, storeId, T + 3_000, "orders", "o-2", 2, 2);
    await produceAt(client, storeId, T + 4_000, "orders", "o-1", 4, 1);
    // Spaces "a" and "b" for multi-space merges: b commits first at T+2000, a at T+2000 after it.
    await produceAt(client, storeId, T + 1_000, "a", "x", 1, 1);
    await produceAt(client, storeId, T + 1_000, "b", "y", 1, 1);
    await produceAt(client, storeId, T + 2_000, "b", "y", 2, 1);
    await produceAt(client, storeId, T + 2_000, "a", "x", 2, 1);
    await produceAt(client, storeId, T + 3_000, "a", "x", 3, 1);
    await produceAt(client, storeId, T + 3_000, "b", "y", 3, 1);
  });

  afterAll(() => {
    vi.useRealTimers();
  });

  const segmentRead = (query: object) => collect(harness().client.consumeSegment(storeId, { space: "bounds", segment: "g", ...query }));

  it("reads a segment in sequence order with full entries", async () => {
    const entries = await segmentRead({});
    expect(sequences(entries)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(entries.map((e) => e.timestamp)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 3].map((s) => T + s * 1_000));
    const first = entries[0]!;
    expect(first).toMatchObject({ space: "bounds", segment: "g", sequence: 1, metadata: {} });
    expect(first.payload).toEqual(new TextEncoder().encode("bounds/g-1"));
    expect(first.payload.constructor).toBe(Uint8Array);
    expect(first.trx).toEqual({ id: expect.any(String), node: expect.any(String), number: expect.any(Number) });
    expect(first.offset).toMatch(/^[A-Za-z0-9_-]+$/);
    // One batch, one transaction.
    expect(entries[1]!.trx).toEqual(first.trx);
    expect(entries[3]!.trx!.number).toBeGreaterThan(first.trx!.number);
  });

  it.each([
    ["minSequence", { minSequence: 4 }, [4, 5, 6, 7, 8, 9, 10]],
    ["maxSequence", { maxSequence: 6 }, [1, 2, 3, 4, 5, 6]],
    ["both sequence bounds, inclusive", { minSequence: 4, maxSequence: 6 }, [4, 5, 6]],
    ["minTimestamp", { minTimestamp: T + 2_000 }, [4, 5, 6, 7, 8, 9, 10]],
    ["maxTimestamp", { maxTimestamp: T + 2_000 }, [1, 2, 3, 4, 5, 6]],
    ["both timestamp bounds, inclusive", { minTimestamp: T + 2_000, maxTimestamp: T + 2_000 }, [4, 5, 6]],
    ["timestamps between commits", { minTimestamp: T + 1_001, maxTimestamp: T + 2_999 }, [4, 5, 6]],
    ["limit", { limit: 3 }, [1, 2, 3]],
    ["limit 0 as no limit", { limit: 0 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ["bounds 0 as unbounded", { minSequence: 0, maxSequence: 0, minTimestamp: 0, maxTimestamp: 0 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ["limit after minSequence", { minSequence: 5, limit: 2 }, [5, 6]],
    ["sequence and timestamp bounds together", { minSequence: 2, maxTimestamp: T + 2_000 }, [2, 3, 4, 5, 6]],
    ["inverted sequences", { minSequence: 7, maxSequence: 3 }, []],
    ["inverted timestamps", { minTimestamp: T + 3_000, maxTimestamp: T + 1_000 }, []],
    ["minSequence past the head", { minSequence: 11 }, []],
  ])("bounds a segment read by %s", async (_name, query, expected) => {
    expect(sequences(await segmentRead(query))).toEqual(expected);
  });

  it("reads a missing segment or space as empty", async () => {
    const { client } = harness();
    expect(await collect(client.consumeSegment(storeId, { space: "bounds", segment: "nope" }))).toEqual([]);
    expect(await collect(client.consumeSegment(storeId, { space: "nope", segment: "g" }))).toEqual([]);
    expect(await collect(client.consumeSpace(storeId, { space: "nope" }))).toEqual([]);
    expect(await collect(client.consume(storeId, { offsets: { nope: "" } }))).toEqual([]);
  });

  it("resumes a segment read from any entry's offset with exactly the rest", async () => {
    const all = await segmentRead({});
    expect(sequences(await segmentRead({ offset: "" }))).toEqual(sequences(all));
    for (const [i, entry] of all.entries()) {
      expect(sequences(await segmentRead({ offset: entry.offset }))).toEqual(sequences(all.slice(i + 1)));
    }
  });

  it("resumes from an offset within the other bounds", async () => {
    const all = await segmentRead({});
    expect(sequences(await segmentRead({ offset: all[2]!.offset, maxSequence: 8 }))).toEqual([4, 5, 6, 7, 8]);
    expect(sequences(await segmentRead({ offset: all[2]!.offset, limit: 2 }))).toEqual([4, 5]);
    // An offset from a bounded read resumes the same way.
    const bounded = await segmentRead({ minSequence: 6, limit: 1 });
    expect(sequences(await segmentRead({ offset: bounded[0]!.offset }))).toEqual([7, 8, 9, 10]);
  });

  const spaceRead = (query: object = {}) => collect(harness().client.consumeSpace(storeId, { space: "orders", ...query }));

  it("reads a space in commit order, timestamps non-decreasing", async () => {
    const entries = await spaceRead();
    expect(entries.map(keyOf)).toEqual(commitOrder);
    const timestamps = entries.map((e) => e.timestamp);
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(entries.every((e) => e.space === "orders")).toBe(true);
  });

  it("bounds a space read by timestamps and limit", async () => {
    expect((await spaceRead({ minTimestamp: T + 2_000 })).map(keyOf)).toEqual(commitOrder.slice(3));
    expect((await spaceRead({ maxTimestamp: T + 2_000 })).map(keyOf)).toEqual(commitOrder.slice(0, 6));
    expect((await spaceRead({ minTimestamp: T + 2_000, maxTimestamp: T + 3_000 })).map(keyOf)).toEqual(commitOrder.slice(3, 8));
    expect((await spaceRead({ limit: 4 })).map(keyOf)).toEqual(commitOrder.slice(0, 4));
    expect(await spaceRead({ minTimestamp: T + 4_000, maxTimestamp: T + 1_000 })).toEqual([]);
  });

  it("resumes a space read from any entry's offset with exactly the rest", async () => {
    const all = await spaceRead();
    expect((await spaceRead({ offset: "" })).map(keyOf)).toEqual(commitOrder);
    for (const [i, entry] of all.entries()) {
      expect((await spaceRead({ offset: entry.offset })).map(keyOf)).toEqual(commitOrder.slice(i + 1));
    }
    expect((await spaceRead({ offset: all[1]!.offset, limit: 3 })).map(keyOf)).toEqual(commitOrder.slice(2, 5));
  });

  it("accepts consumeSpace and consume offsets interchangeably for the same space", async () => {
    const { client } = harness();
    const fromSpace = await spaceRead();
    const fromConsume = await collect(client.consume(storeId, { offsets: { orders: "" } }));
    expect(fromConsume.map(keyOf)).toEqual(commitOrder);
    for (let i = 0; i < commitOrder.length; i++) {
      const rest = commitOrder.slice(i + 1);
      const viaConsume = await collect(client.consume(storeId, { offsets: { orders: fromSpace[i]!.offset } }));
      expect(viaConsume.map(keyOf)).toEqual(rest);
      expect((await spaceRead({ offset: fromConsume[i]!.offset })).map(keyOf)).toEqual(rest);
    }
  });

  /** Spaces a and b merged by (timestamp, space), each in its commit order. */
  const merged = ["a:x:1", "b:y:1", "a:x:2", "b:y:2", "a:x:3", "b:y:3"];
  const mergedKey = (e: Entry) => `${e.space}:${keyOf(e)}`;

  it("merges several spaces by (timestamp, space)", async () => {
    const { client } = harness();
    const entries = await collect(client.consume(storeId, { offsets: { b: "", a: "" } }));
    expect(entries.map(mergedKey)).toEqual(merged);
    expect(entries.map((e) => e.timestamp)).toEqual([1, 1, 2, 2, 3, 3].map((s) => T + s * 1_000));
  });

  it("bounds and resumes a multi-space read", async () => {
    const { client } = harness();
    const read = (query: object) => collect(client.consume(storeId, { offsets: { a: "", b: "" }, ...query })).then((e) => e.map(mergedKey));
    expect(await read({ limit: 3 })).toEqual(merged.slice(0, 3));
    expect(await read({ minTimestamp: T + 2_000 })).toEqual(merged.slice(2));
    expect(await read({ maxTimestamp: T + 2_000 })).toEqual(merged.slice(0, 4));
    const all = await collect(client.consume(storeId, { offsets: { a: "", b: "" } }));
    for (let i = 0; i < all.length; i++) {
      // Resume each space after the last of its entries read so far.
      const offsets: { [space: string]: string } = { a: "", b: "" };
      for (const entry of all.slice(0, i + 1)) offsets[entry.space] = entry.offset;
      expect((await collect(client.consume(storeId, { offsets }))).map(mergedKey)).toEqual(merged.slice(i + 1));
    }
    // A space offset from consumeSpace resumes that space within a merge.
    const spaceA = await collect(client.consumeSpace(storeId, { space: "a" }));
    const resumed = await collect(client.consume(storeId, { offsets: { a: spaceA[0]!.offset, b: "" } }));
    expect(resumed.map(mergedKey)).toEqual(merged.filter((key) => key !== "a:x:1"));
  });
});
