import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Entry, Record } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNode, type StoreNodeManager } from "../../pkg/server/index.js";
import type { LiveTailStats } from "../../pkg/server/live/live-tails.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { collect, keyOf } from "../support/data.js";

/** Bound on each follower's whole read: a stall fails the test with `cancelled` instead of hanging. */
const READ_BOUND_MS = 60_000;
const PAYLOAD = new Uint8Array(200).fill(7);
const storeId = "5d1f6a3c-2b7e-4c9a-8f10-3e4d5c6b7a81";
const space = "fan";

/** Counts the range scans a store is asked for, whatever the backend. */
function countingFactory(inner: StoreFactory) {
  const counts = { reads: 0 };
  const scans = new Set(["readSpace", "readSpaceChunks", "readSegment", "readSegmentChunks"]);
  const factory: StoreFactory = {
    async open(id) {
      const store = await inner.open(id);
      return new Proxy(store, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== "function") return value;
          const method = value as (...args: unknown[]) => unknown;
          if (typeof property === "string" && scans.has(property)) {
            return (...args: unknown[]) => {
              counts.reads++;
              return method.apply(target, args);
            };
          }
          return method.bind(target);
        },
      });
    },
  };
  return { factory, counts };
}

/** `count` records of PAYLOAD from `first`. */
const batch = (first: number, count: number): Record[] => Array.from({ length: count }, (_, i) => ({ sequence: first + i, payload: PAYLOAD }));

interface Follower {
  /** Every key received, in order. */
  keys: string[];
  /** Resolves once `total` entries came; the follower goes on reading until stopped. */
  reached: Promise<void>;
  /** Settles once the follower has stopped. */
  done: Promise<unknown>;
}

/** A follow read of some kind, bounded by `signal`. */
type Read = (client: StreamsClient, signal: AbortSignal) => AsyncIterable<Entry>;

const followSpace: Read = (client, signal) => client.consumeSpace(storeId, { space, follow: true }, { signal });

/**
 * Follows the space until `stop` aborts, reporting when `total` entries came. A slow follower stops
 * reading after its first entry until `gate` opens (its stream fills and stalls on the server).
 */
function follow(client: StreamsClient, total: number, stop: AbortSignal, gate?: Promise<void>, read: Read = followSpace): Follower {
  const keys: string[] = [];
  let reachedTotal: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (reachedTotal = resolve));
  const done = (async () => {
    const signal = AbortSignal.any([stop, AbortSignal.timeout(READ_BOUND_MS)]);
    for await (const entry of read(client, signal)) {
      keys.push(`${entry.space}/${keyOf(entry)}`);
      if (keys.length === 1 && gate !== undefined) await gate;
      if (keys.length === total) reachedTotal();
    }
  })();
  // A follower that ends early (a failure, the time bound) must fail the wait for `reached`.
  const ended = done.then(
    () => Promise.reject(new Error(`follow ended after ${keys.length} of ${total} entries`)),
    (error: unknown) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
  );
  ended.catch(() => undefined);
  const reachedOrEnded = Promise.race([reached, ended]);
  // A test that already failed (say, on its time bound) no longer awaits it: no unhandled rejection then.
  reachedOrEnded.catch(() => undefined);
  return { keys, reached: reachedOrEnded, done: done.catch(() => undefined) };
}

describe("shared live tail: fan-out of one space", () => {
  let dataDir: string;
  let manager: StoreNodeManager;
  let counts: { reads: number };
  let clients: StreamsClient[];
  let stop: AbortController;
  let followers: Follower[];

  async function start(liveWindowBytes?: number): Promise<void> {
    const counting = countingFactory(createLevelStoreFactory({ dataDir }));
    counts = counting.counts;
    manager = createNodeManager({ storeFactory: counting.factory, limits: liveWindowBytes === undefined ? {} : { liveWindowBytes } });
    clients = Array.from({ length: 10 }, () => createClient(createInProcProvider(manager)));
  }

  async function stats(of = space): Promise<LiveTailStats> {
    const node = (await manager.getOrCreate(storeId)) as StoreNode;
    const tail = node.liveTails().find((stats) => stats.space === of);
    if (tail === undefined) throw new Error("no live tail for the space");
    return tail;
  }

  const client = (index: number) => clients[index % clients.length] as StreamsClient;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "streamkit-fanout-"));
    stop = new AbortController();
    followers = [];
  });

  afterEach(async () => {
    stop.abort();
    await Promise.all(followers.map((follower) => follower.done));
    await Promise.all(clients.map((each) => each.close()));
    await manager.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("200 followers, 20 of them stalled past the window, each get every entry once in commit order; the window stays under its bytes", async () => {
    const windowBytes = 32 * 1024;
    await start(windowBytes);
    const producer = client(0);
    await producer.produce(storeId, space, "seg-0", batch(1, 1));
    const groups = 150;
    const perGroup = 5;
    const total = 1 + groups * perGroup + groups;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    followers = Array.from({ length: 200 }, (_, index) => follow(client(index), total, stop.signal, index % 10 === 0 ? gate : undefined));

    // A publisher runs while they follow: produced batches on four segments and single publishes.
    const next = new Map<string, number>([["seg-0", 2]]);
    for (let group = 0; group < groups; group++) {
      const segment = `seg-${group % 4}`;
      const first = next.get(segment) ?? 1;
      next.set(segment, first + perGroup);
      await producer.produce(storeId, space, segment, batch(first, perGroup));
      await producer.publish(storeId, space, "single", PAYLOAD);
    }
    openGate();
    await Promise.all(followers.map((follower) => follower.reached));

    const order = (await collect(producer.consumeSpace(storeId, { space }))).map((entry) => `${space}/${keyOf(entry)}`);
    expect(order).toHaveLength(total);
    for (const follower of followers) expect(follower.keys).toEqual(order);
    const after = await stats();
    // The stalled followers were left behind by the window and came back through storage.
    expect(after.fellBehind).toBeGreaterThanOrEqual(20);
    expect(after.joins).toBeGreaterThan(200);
    expect(after.evictedBlocks).toBeGreaterThan(0);
    expect(after.windowHighWater).toBeLessThanOrEqual(windowBytes);
    expect(after.windowBytes).toBeLessThanOrEqual(windowBytes);
  }, 120_000);

  it("storage reads per commit group do not grow with the number of followers", async () => {
    await start();
    const producer = client(0);
    await producer.produce(storeId, space, "seg", batch(1, 1));
    const groups = 100;
    const followerCount = 100;
    const total = 1 + groups;
    followers = Array.from({ length: followerCount }, (_, index) => follow(client(index), total, stop.signal));
    const readsBefore = counts.reads;
    for (let group = 0; group < groups; group++) await producer.publish(storeId, space, "seg", PAYLOAD);
    await Promise.all(followers.map((follower) => follower.reached));
    for (const follower of followers) expect(follower.keys).toHaveLength(total);
    const reads = counts.reads - readsBefore;
    const tail = await stats();
    // The tail reads once per commit (twice when a commit lands during its read), whoever follows;
    // each follower adds a bounded number of its own (catching up, joining), not one per commit.
    expect(tail.reads).toBeLessThanOrEqual(2 * groups);
    expect(reads - tail.reads).toBeLessThanOrEqual(3 * followerCount);
    expect(reads).toBeLessThan(followerCount * groups);
  }, 60_000);

  it("200 segment followers on four segments, 20 of them stalled past the window, each get every entry of their segment once in order", async () => {
    const windowBytes = 32 * 1024;
    await start(windowBytes);
    const producer = client(0);
    const segments = ["seg-0", "seg-1", "seg-2", "seg-3"];
    for (const segment of segments) await producer.produce(storeId, space, segment, batch(1, 1));
    const groups = 160;
    const perGroup = 5;
    const perSegment = 1 + (groups / segments.length) * perGroup;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const segmentOf = (index: number) => segments[index % segments.length] as string;
    followers = Array.from({ length: 200 }, (_, index) =>
      follow(client(index), perSegment, stop.signal, index % 10 === 1 ? gate : undefined, (reader, signal) =>
        reader.consumeSegment(storeId, { space, segment: segmentOf(index), follow: true }, { signal }),
      ),
    );

    // Other segments of the space are written too: segment followers skip them.
    const next = new Map(segments.map((segment) => [segment, 2]));
    for (let group = 0; group < groups; group++) {
      const segment = segmentOf(group);
      const first = next.get(segment) ?? 1;
      next.set(segment, first + perGroup);
      await producer.produce(storeId, space, segment, batch(first, perGroup));
      await producer.publish(storeId, space, "other", PAYLOAD);
    }
    openGate();
    await Promise.all(followers.map((follower) => follower.reached));

    for (const [index, follower] of followers.entries()) {
      const segment = segmentOf(index);
      expect(follower.keys).toEqual(Array.from({ length: perSegment }, (_, i) => `${space}/${segment}:${i + 1}`));
    }
    const after = await stats();
    expect(after.fellBehind).toBeGreaterThanOrEqual(20);
    expect(after.joins).toBeGreaterThan(200);
    expect(after.evictedBlocks).toBeGreaterThan(0);
    // Segment parts encoded for the blocks count against the window too.
    expect(after.windowHighWater).toBeLessThanOrEqual(windowBytes);
  }, 120_000);

  it("segment followers read storage per commit a bounded number of times, whoever follows", async () => {
    await start();
    const producer = client(0);
    await producer.produce(storeId, space, "seg", batch(1, 1));
    const groups = 100;
    const followerCount = 100;
    const total = 1 + groups;
    followers = Array.from({ length: followerCount }, (_, index) =>
      follow(client(index), total, stop.signal, undefined, (reader, signal) => reader.consumeSegment(storeId, { space, segment: "seg", follow: true }, { signal })),
    );
    const readsBefore = counts.reads;
    for (let group = 0; group < groups; group++) await producer.publish(storeId, space, "seg", PAYLOAD);
    await Promise.all(followers.map((follower) => follower.reached));
    for (const follower of followers) expect(follower.keys).toEqual(Array.from({ length: total }, (_, i) => `${space}/seg:${i + 1}`));
    const reads = counts.reads - readsBefore;
    const tail = await stats();
    expect(tail.reads).toBeLessThanOrEqual(2 * groups);
    expect(reads - tail.reads).toBeLessThanOrEqual(3 * followerCount);
  }, 60_000);

  it("200 followers of two spaces, 20 of them stalled past the windows, each get every entry of each space once in its commit order", async () => {
    const windowBytes = 32 * 1024;
    await start(windowBytes);
    const producer = client(0);
    const spaces = [space, "fan-2"];
    for (const each of spaces) await producer.produce(storeId, each, "seg", batch(1, 1));
    const groups = 150;
    const perGroup = 4;
    const total = spaces.length + groups * perGroup;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    followers = Array.from({ length: 200 }, (_, index) =>
      follow(client(index), total, stop.signal, index % 10 === 2 ? gate : undefined, (reader, signal) =>
        reader.consume(storeId, { offsets: { [space]: "", "fan-2": "" }, follow: true }, { signal }),
      ),
    );

    const next = new Map(spaces.map((each) => [each, 2]));
    for (let group = 0; group < groups; group++) {
      const target = spaces[group % spaces.length] as string;
      const first = next.get(target) ?? 1;
      next.set(target, first + perGroup);
      await producer.produce(storeId, target, "seg", batch(first, perGroup));
    }
    openGate();
    await Promise.all(followers.map((follower) => follower.reached));

    for (const each of spaces) {
      const order = (await collect(producer.consumeSpace(storeId, { space: each }))).map((entry) => `${each}/${keyOf(entry)}`);
      // Across spaces a live pass may interleave differently; within each space, exactly its commit order.
      for (const follower of followers) expect(follower.keys.filter((key) => key.startsWith(`${each}/`))).toEqual(order);
    }
    for (const follower of followers) expect(follower.keys).toHaveLength(total);
    const [first, second] = [await stats(space), await stats("fan-2")];
    expect(first.fellBehind + second.fellBehind).toBeGreaterThanOrEqual(20);
    expect(first.windowHighWater).toBeLessThanOrEqual(windowBytes);
    expect(second.windowHighWater).toBeLessThanOrEqual(windowBytes);
  }, 120_000);
});
