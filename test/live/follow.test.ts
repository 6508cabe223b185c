import { describe, expect, it, vi } from "vitest";
import type { Entry, StreamsClient } from "../../pkg/client/index.js";
import { StreamsError } from "../../pkg/client/index.js";
import { collect, failureOf, keyOf, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";
import { listMismatch, range } from "./follow-checks.js";

/** Bound on any one follow read in these tests: a read that stalls fails with `cancelled` instead of hanging. */
const READ_BOUND_MS = 20_000;
const bounded = () => AbortSignal.timeout(READ_BOUND_MS);

/** Takes the next `count` entries of an iterator (fewer only if the read ends first). */
async function next(iterator: AsyncIterator<Entry>, count: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  while (entries.length < count) {
    const result = await iterator.next();
    if (result.done === true) break;
    entries.push(result.value);
  }
  return entries;
}

/** Reads `count` entries of a read, then stops it with `break`. */
async function take(iterable: AsyncIterable<Entry>, count: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of iterable) {
    entries.push(entry);
    if (entries.length >= count) break;
  }
  return entries;
}

const sequences = (entries: Entry[]) => entries.map((entry) => entry.sequence);
const ofSpace = (entries: Entry[], space: string) => entries.filter((entry) => entry.space === space).map(keyOf);

/** What a plain (non-follow) read of the space returns now: the reference commit order. */
async function commitOrder(client: StreamsClient, storeId: string, space: string): Promise<string[]> {
  return (await collect(client.consumeSpace(storeId, { space }))).map(keyOf);
}

describe.each(configurations)("follow reads over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("follows a segment: its history, then its entries as they commit, and no other segment's", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 100));
    await client.produce(storeId, "s", "other", records(1, 10));
    const read = client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, signal: bounded() });
    const iterator = read[Symbol.asyncIterator]();
    expect(sequences(await next(iterator, 100))).toEqual(range(1, 100));
    const live = next(iterator, 50);
    await producer.produce(storeId, "s", "other", records(11, 10));
    await producer.produce(storeId, "s", "g", records(101, 30));
    await producer.publish(storeId, "s", "other", new Uint8Array([1]));
    await producer.produce(storeId, "s", "g", records(131, 20));
    const entries = await live;
    expect(sequences(entries)).toEqual(range(101, 50));
    expect(entries.every((entry) => entry.segment === "g")).toBe(true);
    await iterator.return?.();
    expect(read.state).toEqual({ status: "connected", reconnects: 0, caughtUp: 0 });
  });

  it("follows a missing segment from nothing, and resumes a follow from an entry's offset", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    const reading = take(client.consumeSegment(storeId, { space: "s", segment: "new", follow: true, signal: bounded() }), 5);
    await producer.produce(storeId, "s", "new", records(1, 5));
    const first = await reading;
    expect(sequences(first)).toEqual([1, 2, 3, 4, 5]);
    const resumed = take(client.consumeSegment(storeId, { space: "s", segment: "new", offset: first[2]!.offset, follow: true, signal: bounded() }), 4);
    await producer.produce(storeId, "s", "new", records(6, 2));
    expect(sequences(await resumed)).toEqual([4, 5, 6, 7]);
  });

  it("follows a space in commit order across segments, the same order a plain read gives", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    await client.produce(storeId, "orders", "o-1", records(1, 3));
    await client.produce(storeId, "orders", "o-2", records(1, 2));
    const read = client.consumeSpace(storeId, { space: "orders", follow: true, signal: bounded() });
    const iterator = read[Symbol.asyncIterator]();
    const history = await next(iterator, 5);
    const live = next(iterator, 45);
    await Promise.all(["o-1", "o-2", "o-3"].map((segment, i) => producer.produce(storeId, "orders", segment, records(i < 2 ? 4 - i : 1, 15), { batchSize: 4 })));
    const entries = [...history, ...(await live)];
    await iterator.return?.();
    expect(listMismatch(entries.map(keyOf), await commitOrder(client, storeId, "orders"))).toBeUndefined();
    expect(new Set(entries.map((entry) => entry.offset)).size).toBe(50);
  });

  it("follows several spaces: history merged by (timestamp, space), each space in its commit order", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    await client.produce(storeId, "a", "x", records(1, 20));
    await client.produce(storeId, "b", "y", records(1, 20));
    await client.produce(storeId, "a", "x", records(21, 20));
    const plain = await collect(client.consume(storeId, { offsets: { a: "", b: "" } }));
    const read = client.consume(storeId, { offsets: { a: "", b: "" }, follow: true, signal: bounded() });
    const iterator = read[Symbol.asyncIterator]();
    const history = await next(iterator, 60);
    expect(history.map(keyOf)).toEqual(plain.map(keyOf));
    const live = next(iterator, 60);
    await Promise.all([
      producer.produce(storeId, "a", "x", records(41, 30), { batchSize: 7 }),
      producer.produce(storeId, "b", "y", records(21, 30), { batchSize: 5 }),
    ]);
    const entries = [...history, ...(await live)];
    await iterator.return?.();
    expect(listMismatch(ofSpace(entries, "a"), await commitOrder(client, storeId, "a"))).toBeUndefined();
    expect(listMismatch(ofSpace(entries, "b"), await commitOrder(client, storeId, "b"))).toBeUndefined();
  });

  it("delivers every entry once, in order, when 5,000 are produced while the follow starts", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    await producer.produce(storeId, "s", "g", records(1, 100));
    const producing = producer.produce(storeId, "s", "g", records(101, 4_900), { batchSize: 100 });
    const entries = await take(client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, signal: bounded() }), 5_000);
    await producing;
    expect(listMismatch(sequences(entries), range(1, 5_000))).toBeUndefined();
  });

  it("follows a space while two producers write 5,000 entries, exactly the space's commit order", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    const producing = Promise.all(["x", "y"].map((segment) => producer.produce(storeId, "s", segment, records(1, 2_500), { batchSize: 50 })));
    const entries = await take(client.consumeSpace(storeId, { space: "s", follow: true, signal: bounded() }), 5_000);
    await producing;
    expect(listMismatch(entries.map(keyOf), await commitOrder(client, storeId, "s"))).toBeUndefined();
  });

  it("follows two spaces while both are written, each space complete and in its commit order", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    const producing = Promise.all(["a", "b"].map((space) => producer.produce(storeId, space, "g", records(1, 2_500), { batchSize: 50 })));
    const entries = await take(client.consume(storeId, { offsets: { a: "", b: "" }, follow: true, signal: bounded() }), 5_000);
    await producing;
    expect(listMismatch(ofSpace(entries, "a"), await commitOrder(client, storeId, "a"))).toBeUndefined();
    expect(listMismatch(ofSpace(entries, "b"), await commitOrder(client, storeId, "b"))).toBeUndefined();
  });

  it("ends a follow by itself at its limit or maxSequence", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 5));
    const limited = collect(client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, limit: 12, signal: bounded() }));
    const capped = collect(client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, maxSequence: 8, signal: bounded() }));
    const spaceLimited = collect(client.consumeSpace(storeId, { space: "s", follow: true, limit: 7, signal: bounded() }));
    await producer.produce(storeId, "s", "g", records(6, 10));
    expect(sequences(await limited)).toEqual(range(1, 12));
    expect(sequences(await capped)).toEqual(range(1, 8));
    expect(sequences(await spaceLimited)).toEqual(range(1, 7));
  });

  it("ends a follow by itself once an entry passes maxTimestamp", async () => {
    const T = Date.UTC(2031, 0, 1);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { client, connect, newStoreId } = harness();
      const producer = connect();
      const storeId = newStoreId();
      vi.setSystemTime(T + 1_000);
      await client.produce(storeId, "s", "g", records(1, 3));
      const segment = collect(client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, maxTimestamp: T + 2_000, signal: bounded() }));
      const spaces = collect(client.consume(storeId, { offsets: { s: "" }, follow: true, maxTimestamp: T + 2_000, signal: bounded() }));
      vi.setSystemTime(T + 2_000);
      await producer.produce(storeId, "s", "g", records(4, 2));
      vi.setSystemTime(T + 3_000);
      await producer.produce(storeId, "s", "g", records(6, 1));
      expect(sequences(await segment)).toEqual(range(1, 5));
      expect(sequences(await spaces)).toEqual(range(1, 5));
    } finally {
      vi.useRealTimers();
    }
  });

  it("skips the entries before minTimestamp in history and live", async () => {
    const T = Date.UTC(2032, 0, 1);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { client, connect, newStoreId } = harness();
      const producer = connect();
      const storeId = newStoreId();
      vi.setSystemTime(T + 1_000);
      await client.produce(storeId, "s", "g", records(1, 3));
      const reading = take(client.consumeSpace(storeId, { space: "s", follow: true, minTimestamp: T + 3_000, signal: bounded() }), 2);
      vi.setSystemTime(T + 2_000);
      await producer.produce(storeId, "s", "g", records(4, 2));
      vi.setSystemTime(T + 3_000);
      await producer.produce(storeId, "s", "g", records(6, 2));
      expect(sequences(await reading)).toEqual([6, 7]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("ends quietly on break, and with cancelled (cause = the reason) on abort", async () => {
    const { client, connect, newStoreId } = harness();
    const producer = connect();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3));
    const read = client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, signal: bounded() });
    expect(sequences(await take(read, 3))).toEqual([1, 2, 3]);

    const controller = new AbortController();
    const iterator = client.consumeSegment(storeId, { space: "s", segment: "g", follow: true, signal: controller.signal })[Symbol.asyncIterator]();
    expect(sequences(await next(iterator, 3))).toEqual([1, 2, 3]);
    const waiting = next(iterator, 1);
    controller.abort("enough");
    const error = await failureOf(() => waiting);
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "cancelled", cause: "enough" });

    // The store serves on: a new follow sees what comes next.
    const after = take(client.consumeSegment(storeId, { space: "s", segment: "g", minSequence: 4, follow: true, signal: bounded() }), 1);
    await producer.produce(storeId, "s", "g", records(4, 1));
    expect(sequences(await after)).toEqual([4]);
  });
});
