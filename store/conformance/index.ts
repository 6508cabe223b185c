import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Record, type SegmentStatus, StreamsError } from "../../pkg/api/index.js";
import type { SegmentRange, SpaceRange, Store, StoredEntry, StoreFactory, StoreFeatures } from "../types.js";
import { describeLeaseConformance } from "./leases.js";

/**
 * How the conformance suite gets at a backend. Every test starts from `createFactory` (fresh, empty
 * data) and ends with `disposeFactory`.
 */
export interface StoreHarness {
  readonly features: StoreFeatures;
  /** A factory over fresh, empty data. */
  createFactory(): Promise<StoreFactory>;
  /**
   * A new factory over the same data as `factory` (whose stores are closed), as a restarted process
   * would make. Defaults to `factory` itself, for backends whose data lives in the factory.
   */
  reopenFactory?(factory: StoreFactory): Promise<StoreFactory>;
  /** Frees what `createFactory` or `reopenFactory` made. Defaults to `factory.close()`. */
  disposeFactory?(factory: StoreFactory): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (payload: Uint8Array): string => decoder.decode(payload);

/** Records `from`..`to` whose payloads name their sequence (and `tag`, to tell producers apart). */
function records(from: number, to: number, tag = "r"): Record[] {
  const batch: Record[] = [];
  for (let sequence = from; sequence <= to; sequence++) batch.push({ sequence, payload: bytes(`${tag}-${sequence}`) });
  return batch;
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

/** The error a call fails with, whether it throws, rejects, or its iterator fails on the first `next()`. */
async function failure(call: () => unknown): Promise<StreamsError> {
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

const sequences = (entries: readonly StoredEntry[]): number[] => entries.map((entry) => entry.sequence);
const payloads = (entries: readonly StoredEntry[]): string[] => entries.map((entry) => text(entry.payload));

/** Checks what every space read must hold: positions strictly increasing, timestamps non-decreasing, each segment in order. */
function expectCommitOrder(entries: readonly StoredEntry[]): void {
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

/**
 * The storage contract of DESIGN §2, §6 and §8, run against one backend. A backend's test file
 * calls this once; tests of features the backend does not declare are skipped.
 */
export function runStoreConformance(name: string, harness: StoreHarness): void {
  const reopenFactory = (factory: StoreFactory): Promise<StoreFactory> => harness.reopenFactory?.(factory) ?? Promise.resolve(factory);
  const disposeFactory = async (factory: StoreFactory): Promise<void> => {
    if (harness.disposeFactory !== undefined) await harness.disposeFactory(factory);
    else await factory.close?.();
  };

  describe(`store conformance: ${name}`, () => {
    let factories: StoreFactory[];
    let stores: Store[];
    let factory: StoreFactory;
    let store: Store;

    async function open(storeId: string, from: StoreFactory = factory): Promise<Store> {
      const opened = await from.open(storeId);
      stores.push(opened);
      return opened;
    }

    /** Closes `closing` and opens its data again, through a reopened factory. */
    async function reopen(closing: Store): Promise<Store> {
      await closing.close();
      const next = await reopenFactory(factory);
      if (next !== factory) factories.push(next);
      return open(closing.storeId, next);
    }

    beforeEach(async () => {
      factories = [];
      stores = [];
      factory = await harness.createFactory();
      factories.push(factory);
      store = await open(randomUUID());
    });

    afterEach(async () => {
      vi.useRealTimers();
      for (const opened of stores) await opened.close();
      for (const made of factories) await disposeFactory(made);
    });

    /** Fakes only the clock, so timestamps are chosen by the test and nothing else changes. */
    function clockAt(ms: number): void {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(ms);
    }

    describe("produce", () => {
      it("commits a batch and reports the segment's head", async () => {
        clockAt(1_000);
        const first = await store.produce("orders", "o-1", records(1, 3));
        expect(first).toEqual({ space: "orders", segment: "o-1", firstSequence: 1, firstTimestamp: 1_000, lastSequence: 3, lastTimestamp: 1_000 });
        vi.setSystemTime(2_000);
        const second = await store.produce("orders", "o-1", records(4, 5));
        expect(second).toEqual({ space: "orders", segment: "o-1", firstSequence: 1, firstTimestamp: 1_000, lastSequence: 5, lastTimestamp: 2_000 });
        expect(await store.segmentStatus("orders", "o-1")).toEqual(second);
        expect(await store.segmentStatuses("orders")).toEqual([second]);
        expect(await store.segmentStatus("orders", "o-2")).toBeUndefined();
        expect(await store.segmentStatuses("nothing")).toEqual([]);
        const entries = await collect(store.readSegment({ space: "orders", segment: "o-1" }));
        expect(sequences(entries)).toEqual([1, 2, 3, 4, 5]);
        expect(payloads(entries)).toEqual(["r-1", "r-2", "r-3", "r-4", "r-5"]);
      });

      it("keeps payload bytes and metadata exactly, with {} for a record without metadata", async () => {
        const binary = new Uint8Array([0, 255, 1, 0, 128]);
        await store.produce("s", "g", [
          { sequence: 1, payload: binary, metadata: { kind: "created", "ü": "ß" } },
          { sequence: 2, payload: new Uint8Array(0) },
          { sequence: 3, payload: bytes("x"), metadata: {} },
        ]);
        const [a, b, c] = await collect(store.readSegment({ space: "s", segment: "g" }));
        // Plain Uint8Arrays (not Buffers or other subclasses) from every backend.
        expect(a?.payload).toEqual(new Uint8Array([0, 255, 1, 0, 128]));
        expect(a?.metadata).toEqual({ kind: "created", "ü": "ß" });
        expect(b?.payload).toEqual(new Uint8Array(0));
        expect(b?.metadata).toEqual({});
        expect(c?.metadata).toEqual({});
      });

      it("stores what was produced, not what the caller's buffers hold later", async () => {
        const payload = bytes("original");
        await store.produce("s", "g", [{ sequence: 1, payload }]);
        payload.fill(0);
        const [entry] = await collect(store.readSegment({ space: "s", segment: "g" }));
        expect(text(entry?.payload ?? new Uint8Array())).toBe("original");
      });

      it("gives a batch's entries one trx, and each batch a new id and a greater store-wide number", async () => {
        await store.produce("s", "a", records(1, 3));
        await store.produce("t", "b", records(1, 2));
        await store.produce("s", "a", records(4, 4));
        const s = await collect(store.readSegment({ space: "s", segment: "a" }));
        const [t1] = await collect(store.readSegment({ space: "t", segment: "b" }));
        const [first, second, third, fourth] = s;
        expect(first?.trx).toEqual(second?.trx);
        expect(first?.trx).toEqual(third?.trx);
        expect(typeof first?.trx.id).toBe("string");
        expect(typeof first?.trx.node).toBe("string");
        expect(new Set([first?.trx.id, t1?.trx.id, fourth?.trx.id]).size).toBe(3);
        expect(t1?.trx.number).toBeGreaterThan(first?.trx.number ?? Infinity);
        expect(fourth?.trx.number).toBeGreaterThan(t1?.trx.number ?? Infinity);
      });

      it("commits batches of one segment issued without waiting, in order", async () => {
        const statuses = await Promise.all([
          store.produce("s", "g", records(1, 3)),
          store.produce("s", "g", records(4, 6)),
          store.produce("s", "g", records(7, 9)),
        ]);
        expect(statuses.map((status) => status.lastSequence)).toEqual([3, 6, 9]);
        expect(sequences(await collect(store.readSegment({ space: "s", segment: "g" })))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      });
    });

    describe("sequence conflicts", () => {
      async function expectConflict(batch: Record[], expected: number, actual: number): Promise<void> {
        const error = await failure(() => store.produce("orders", "o-1", batch));
        expect(error.kind).toBe("sequence_conflict");
        expect(error.code).toBe("permanent");
        expect(error.details).toEqual({ expected, actual });
      }

      it("rejects a first batch that does not start at 1, storing nothing", async () => {
        await expectConflict(records(2, 3), 1, 2);
        expect(await store.segmentStatus("orders", "o-1")).toBeUndefined();
        expect(await store.listSpaces()).toEqual([]);
        expect(await store.listSegments("orders")).toEqual([]);
        expect(await collect(store.readSpace({ space: "orders" }))).toEqual([]);
      });

      it("rejects a batch not starting at lastSequence + 1 or not contiguous, leaving the segment unchanged", async () => {
        await store.produce("orders", "o-1", records(1, 2));
        const before = await store.segmentStatus("orders", "o-1");
        const spaceBefore = await collect(store.readSpace({ space: "orders" }));
        // DESIGN §8: a batch 3, 4, 6 on a segment at 2 → expected 5, actual 6.
        await expectConflict([...records(3, 4), ...records(6, 6)], 5, 6);
        await expectConflict(records(4, 5), 3, 4);
        await expectConflict(records(2, 3), 3, 2);
        await expectConflict(records(1, 1), 3, 1);
        expect(await store.segmentStatus("orders", "o-1")).toEqual(before);
        expect(sequences(await collect(store.readSegment({ space: "orders", segment: "o-1" })))).toEqual([1, 2]);
        expect(await collect(store.readSpace({ space: "orders" }))).toEqual(spaceBefore);
        expect((await store.produce("orders", "o-1", records(3, 4))).lastSequence).toBe(4);
      });

      it("lets exactly one of many concurrent producers win each sequence", async () => {
        const producers = 8;
        for (let round = 0; round < 3; round++) {
          const from = round * 5 + 1;
          const results = await Promise.allSettled(
            Array.from({ length: producers }, (_, p) => store.produce("race", "g", records(from, from + 4, `p${p}`))),
          );
          const winners = results.flatMap((result, p) => (result.status === "fulfilled" ? [p] : []));
          expect(winners).toHaveLength(1);
          for (const result of results) {
            if (result.status === "rejected") expect((result.reason as StreamsError).kind).toBe("sequence_conflict");
          }
          const entries = await collect(store.readSegment({ space: "race", segment: "g", minSequence: from }));
          expect(payloads(entries)).toEqual(records(from, from + 4, `p${winners[0]}`).map((record) => text(record.payload)));
        }
        expect((await store.segmentStatus("race", "g"))?.lastSequence).toBe(15);
      });
    });

    describe("publish", () => {
      it("appends at the next sequence, after produced batches too", async () => {
        const first = await store.publish("s", "g", bytes("one"));
        expect(first.lastSequence).toBe(1);
        await store.produce("s", "g", records(2, 3));
        const next = await store.publish("s", "g", bytes("four"), { k: "v" });
        expect(next).toMatchObject({ space: "s", segment: "g", firstSequence: 1, lastSequence: 4 });
        const entries = await collect(store.readSegment({ space: "s", segment: "g" }));
        expect(payloads(entries)).toEqual(["one", "r-2", "r-3", "four"]);
        expect(entries[0]?.metadata).toEqual({});
        expect(entries[3]?.metadata).toEqual({ k: "v" });
      });

      it("never conflicts: 50 concurrent publishes take sequences 1..50", async () => {
        const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => store.publish("s", "g", bytes(`m${i}`))));
        const assigned = statuses.map((status: SegmentStatus) => status.lastSequence).sort((a, b) => a - b);
        expect(assigned).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        const entries = await collect(store.readSegment({ space: "s", segment: "g" }));
        expect(sequences(entries)).toEqual(assigned);
        expect(new Set(payloads(entries)).size).toBe(50);
      });
    });

    describe("segment reads", () => {
      /** Segment g of space s: sequences 1..10, sequence n at timestamp 1000 + 100·⌈n/2⌉ (two per batch). */
      async function fill(): Promise<void> {
        clockAt(0);
        for (let n = 1; n <= 10; n += 2) {
          vi.setSystemTime(1_000 + 100 * Math.ceil(n / 2));
          await store.produce("s", "g", records(n, n + 1));
        }
        await store.produce("s", "other", records(1, 3));
      }

      const read = async (range: Partial<SegmentRange>): Promise<number[]> =>
        sequences(await collect(store.readSegment({ space: "s", segment: "g", ...range })));

      it("reads everything in sequence order when unbounded or bounded by zeros", async () => {
        await fill();
        const all = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        expect(await read({})).toEqual(all);
        expect(await read({ minSequence: 0, maxSequence: 0, minTimestamp: 0, maxTimestamp: 0, limit: 0 })).toEqual(all);
      });

      it("honours inclusive sequence bounds", async () => {
        await fill();
        expect(await read({ minSequence: 4 })).toEqual([4, 5, 6, 7, 8, 9, 10]);
        expect(await read({ maxSequence: 3 })).toEqual([1, 2, 3]);
        expect(await read({ minSequence: 4, maxSequence: 7 })).toEqual([4, 5, 6, 7]);
        expect(await read({ minSequence: 6, maxSequence: 6 })).toEqual([6]);
        expect(await read({ minSequence: 10 })).toEqual([10]);
        expect(await read({ minSequence: 11 })).toEqual([]);
        expect(await read({ maxSequence: 100 })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it("honours inclusive timestamp bounds", async () => {
        await fill();
        expect(await read({ minTimestamp: 1_300 })).toEqual([5, 6, 7, 8, 9, 10]);
        expect(await read({ maxTimestamp: 1_200 })).toEqual([1, 2, 3, 4]);
        expect(await read({ minTimestamp: 1_150, maxTimestamp: 1_350 })).toEqual([3, 4, 5, 6]);
        expect(await read({ minTimestamp: 1_400, maxTimestamp: 1_400 })).toEqual([7, 8]);
        expect(await read({ minTimestamp: 1_501 })).toEqual([]);
        expect(await read({ minTimestamp: 1_200, minSequence: 2, maxSequence: 7 })).toEqual([3, 4, 5, 6, 7]);
      });

      it("honours limit, alone and with other bounds", async () => {
        await fill();
        expect(await read({ limit: 3 })).toEqual([1, 2, 3]);
        expect(await read({ limit: 1 })).toEqual([1]);
        expect(await read({ limit: 100 })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(await read({ minSequence: 4, limit: 2 })).toEqual([4, 5]);
        expect(await read({ minTimestamp: 1_300, limit: 3 })).toEqual([5, 6, 7]);
        expect(await read({ minSequence: 9, maxSequence: 9, limit: 5 })).toEqual([9]);
      });

      it("reads the same entries in chunks as one at a time, where the store reads in chunks", async () => {
        await fill();
        if (store.readSegmentChunks === undefined || store.readSpaceChunks === undefined) return; // optional methods
        const segmentRanges: Partial<SegmentRange>[] = [{}, { minSequence: 4, maxSequence: 7 }, { minTimestamp: 1_300, limit: 3 }, { maxTimestamp: 1_200 }, { minSequence: 11 }];
        for (const range of segmentRanges) {
          const full = { space: "s", segment: "g", ...range };
          const chunks = await collect(store.readSegmentChunks(full));
          expect(chunks.every((chunk) => chunk.length > 0)).toBe(true);
          expect(chunks.flat()).toEqual(await collect(store.readSegment(full)));
        }
        const spaceRanges: Partial<SpaceRange>[] = [{}, { afterPosition: 3 }, { minTimestamp: 1_300, limit: 2 }, { maxTimestamp: 1_100 }];
        for (const range of spaceRanges) {
          const full = { space: "s", ...range };
          const chunks = await collect(store.readSpaceChunks(full));
          expect(chunks.every((chunk) => chunk.length > 0)).toBe(true);
          expect(chunks.flat()).toEqual(await collect(store.readSpace(full)));
        }
      });

      it("reads nothing for inverted ranges", async () => {
        await fill();
        expect(await read({ minSequence: 5, maxSequence: 4 })).toEqual([]);
        expect(await read({ minTimestamp: 1_400, maxTimestamp: 1_300 })).toEqual([]);
      });

      it("reads a missing segment or space as empty", async () => {
        await fill();
        expect(await read({ segment: "missing" })).toEqual([]);
        expect(await read({ space: "missing" })).toEqual([]);
      });

      it("carries each entry's space, segment, timestamp and position", async () => {
        await fill();
        const entries = await collect(store.readSegment({ space: "s", segment: "g", minSequence: 3, maxSequence: 4 }));
        expect(entries.map(({ space, segment, sequence, timestamp }) => ({ space, segment, sequence, timestamp }))).toEqual([
          { space: "s", segment: "g", sequence: 3, timestamp: 1_200 },
          { space: "s", segment: "g", sequence: 4, timestamp: 1_200 },
        ]);
        const fromSpace = (await collect(store.readSpace({ space: "s" }))).filter((entry) => entry.segment === "g");
        expect(entries.map((entry) => entry.position)).toEqual([fromSpace[2]?.position, fromSpace[3]?.position]);
      });
    });

    describe("space reads", () => {
      /** Space s: three segments written by concurrent producers; space t alongside. */
      async function fill(): Promise<void> {
        await Promise.all(
          ["a", "b", "c"].map(async (segment) => {
            for (let n = 1; n <= 12; n += 3) await store.produce("s", segment, records(n, n + 2, segment));
          }),
        );
        await store.produce("t", "a", records(1, 2, "t"));
      }

      it("reads every entry in commit order: positions increase, timestamps never decrease, segments in order", async () => {
        await fill();
        const entries = await collect(store.readSpace({ space: "s" }));
        expect(entries).toHaveLength(36);
        expectCommitOrder(entries);
        expect(new Set(entries.map((entry) => entry.space))).toEqual(new Set(["s"]));
      });

      it("reads batches in the order they were committed", async () => {
        await store.produce("s", "x", records(1, 1));
        await store.produce("s", "y", records(1, 2));
        await store.produce("s", "x", records(2, 2));
        const entries = await collect(store.readSpace({ space: "s" }));
        expect(entries.map((entry) => `${entry.segment}${entry.sequence}`)).toEqual(["x1", "y1", "y2", "x2"]);
      });

      it("resumes after any entry's position with exactly the entries after it", async () => {
        await fill();
        const entries = await collect(store.readSpace({ space: "s" }));
        for (let i = 0; i < entries.length; i++) {
          const rest = await collect(store.readSpace({ space: "s", afterPosition: (entries[i] as StoredEntry).position }));
          expect(rest).toEqual(entries.slice(i + 1));
        }
        expect(await collect(store.readSpace({ space: "s", afterPosition: 0 }))).toEqual(entries);
      });

      it("honours limit and timestamp bounds", async () => {
        clockAt(5_000);
        await store.produce("s", "a", records(1, 2));
        vi.setSystemTime(6_000);
        await store.produce("s", "b", records(1, 2));
        vi.setSystemTime(7_000);
        await store.produce("s", "a", records(3, 3));
        const read = async (range: Partial<SpaceRange>): Promise<string[]> =>
          (await collect(store.readSpace({ space: "s", ...range }))).map((entry) => `${entry.segment}${entry.sequence}`);
        expect(await read({ limit: 3 })).toEqual(["a1", "a2", "b1"]);
        expect(await read({ minTimestamp: 6_000 })).toEqual(["b1", "b2", "a3"]);
        expect(await read({ maxTimestamp: 6_000 })).toEqual(["a1", "a2", "b1", "b2"]);
        expect(await read({ minTimestamp: 6_000, maxTimestamp: 6_000 })).toEqual(["b1", "b2"]);
        expect(await read({ minTimestamp: 5_500, limit: 1 })).toEqual(["b1"]);
        expect(await read({ minTimestamp: 7_000, maxTimestamp: 6_000 })).toEqual([]);
        expect(await read({ minTimestamp: 7_001 })).toEqual([]);
        const all = await collect(store.readSpace({ space: "s" }));
        expect(await read({ afterPosition: (all[1] as StoredEntry).position, limit: 2 })).toEqual(["b1", "b2"]);
      });

      it("keeps timestamps non-decreasing when the clock goes back", async () => {
        clockAt(10_000);
        await store.produce("s", "a", records(1, 1));
        vi.setSystemTime(9_000);
        const status = await store.produce("s", "b", records(1, 1));
        expect(status.lastTimestamp).toBe(10_000);
        const entries = await collect(store.readSpace({ space: "s" }));
        expect(entries.map((entry) => entry.timestamp)).toEqual([10_000, 10_000]);
      });

      it("keeps spaces apart, including names that prefix one another", async () => {
        for (const space of ["x", "xy", "x y"]) {
          for (const segment of ["g", "gh", "g h"]) await store.produce(space, segment, records(1, 2, `${space}/${segment}`));
        }
        for (const space of ["x", "xy", "x y"]) {
          const entries = await collect(store.readSpace({ space }));
          expect(entries).toHaveLength(6);
          expect(new Set(entries.map((entry) => entry.space))).toEqual(new Set([space]));
          expect(entries[0]?.position).toBe(entries.at(-1)!.position - 5);
          for (const segment of ["g", "gh", "g h"]) {
            const ofSegment = await collect(store.readSegment({ space, segment }));
            expect(payloads(ofSegment)).toEqual([`${space}/${segment}-1`, `${space}/${segment}-2`]);
          }
          expect(await store.listSegments(space)).toEqual(["g", "g h", "gh"]);
        }
        expect(await collect(store.readSpace({ space: "missing" }))).toEqual([]);
      });
    });

    describe("peek", () => {
      it("gives undefined for an empty segment", async () => {
        expect(await store.peek("s", "g")).toBeUndefined();
      });

      it("gives the latest entry", async () => {
        await store.produce("s", "g", records(1, 3));
        await store.produce("s", "g", [{ sequence: 4, payload: bytes("last"), metadata: { m: "1" } }]);
        await store.produce("s", "h", records(1, 1));
        const latest = await store.peek("s", "g");
        const [fromRead] = await collect(store.readSegment({ space: "s", segment: "g", minSequence: 4 }));
        expect(latest).toEqual(fromRead);
        expect(latest).toMatchObject({ space: "s", segment: "g", sequence: 4, metadata: { m: "1" } });
        expect(text(latest?.payload ?? new Uint8Array())).toBe("last");
      });
    });

    describe("listings and status", () => {
      // Code-point order, which differs from UTF-16 order for "ｚ" (U+FF5A) and "𝔸" (U+1D538).
      const names = ["é", "z", "𝔸", "Z", "ｚ", "a", "ab", "a b"];
      const sorted = ["Z", "a", "a b", "ab", "z", "é", "ｚ", "𝔸"];

      it("lists spaces and segments sorted by code point", async () => {
        for (const name of names) await store.produce(name, "g", records(1, 1));
        for (const name of names) await store.produce("s", name, records(1, 1));
        expect(await store.listSpaces()).toEqual(["Z", "a", "a b", "ab", "s", "z", "é", "ｚ", "𝔸"]);
        expect(await store.listSegments("s")).toEqual(sorted);
        expect((await store.segmentStatuses("s")).map((status) => status.segment)).toEqual(sorted);
        expect(await store.listSegments("missing")).toEqual([]);
      });

      it("reports per-space counts and heads, spaces sorted", async () => {
        expect(await store.status()).toEqual({ storeId: store.storeId, spaces: [] });
        clockAt(1_000);
        await store.produce("b", "x", records(1, 3));
        vi.setSystemTime(2_000);
        await store.produce("b", "y", records(1, 2));
        vi.setSystemTime(3_000);
        await store.produce("a", "x", records(1, 1));
        await store.publish("a", "x", bytes("p"));
        expect(await store.status()).toEqual({
          storeId: store.storeId,
          spaces: [
            { space: "a", segmentCount: 1, entryCount: 2, lastTimestamp: 3_000 },
            { space: "b", segmentCount: 2, entryCount: 5, lastTimestamp: 2_000 },
          ],
        });
      });
    });

    describe("stores", () => {
      it("keeps stores apart", async () => {
        const other = await open(randomUUID());
        await store.produce("s", "g", records(1, 2, "mine"));
        await other.produce("s", "g", records(1, 1, "theirs"));
        expect(payloads(await collect(store.readSpace({ space: "s" })))).toEqual(["mine-1", "mine-2"]);
        expect(payloads(await collect(other.readSpace({ space: "s" })))).toEqual(["theirs-1"]);
        expect((await other.status()).spaces).toEqual([expect.objectContaining({ space: "s", entryCount: 1 })]);
      });

      it("reports the store id it was opened with", async () => {
        const id = randomUUID();
        expect((await open(id)).storeId).toBe(id);
      });

      it("closes idempotently and refuses work afterwards with unavailable", async () => {
        await store.close();
        await store.close();
        expect((await failure(() => store.produce("s", "g", records(1, 1)))).kind).toBe("unavailable");
        expect((await failure(() => store.status())).kind).toBe("unavailable");
      });

      it("finishes in-flight commits before closing", async () => {
        const pending = [store.produce("s", "g", records(1, 2)), store.produce("s", "h", records(1, 1)), store.publish("s", "g", bytes("p"))];
        await store.close();
        const statuses = await Promise.all(pending);
        expect(statuses.map((status) => status.lastSequence)).toEqual([2, 1, 3]);
      });

      it.skipIf(!harness.features.reopen)("keeps everything across close and reopen, and carries on from there", async () => {
        clockAt(50_000);
        await store.produce("s", "g", records(1, 3));
        await store.produce("s", "h", [{ sequence: 1, payload: bytes("h"), metadata: { a: "b" } }]);
        await store.publish("t", "g", bytes("t"));
        const before = {
          spaces: await store.listSpaces(),
          segments: await store.listSegments("s"),
          statuses: await store.segmentStatuses("s"),
          status: await store.status(),
          space: await collect(store.readSpace({ space: "s" })),
          segment: await collect(store.readSegment({ space: "s", segment: "g" })),
          peek: await store.peek("s", "h"),
        };
        vi.setSystemTime(40_000);
        const reopened = await reopen(store);
        expect(reopened.storeId).toBe(store.storeId);
        expect({
          spaces: await reopened.listSpaces(),
          segments: await reopened.listSegments("s"),
          statuses: await reopened.segmentStatuses("s"),
          status: await reopened.status(),
          space: await collect(reopened.readSpace({ space: "s" })),
          segment: await collect(reopened.readSegment({ space: "s", segment: "g" })),
          peek: await reopened.peek("s", "h"),
        }).toEqual(before);
        const conflict = await failure(() => reopened.produce("s", "g", records(3, 3)));
        expect(conflict.details).toEqual({ expected: 4, actual: 3 });
        const status = await reopened.produce("s", "g", records(4, 4));
        expect(status).toMatchObject({ lastSequence: 4, lastTimestamp: 50_000, firstTimestamp: 50_000 });
        const space = await collect(reopened.readSpace({ space: "s" }));
        expectCommitOrder(space);
        expect(space.at(-1)?.trx.number).toBeGreaterThan(Math.max(...before.space.map((entry) => entry.trx.number)));
      });
    });

    describe("invalid arguments", () => {
      const badNames: unknown[] = ["", "*", "a\u0000b", "tab\there", "\u0085", "x".repeat(257), "é".repeat(129), "\ud800", 7, undefined];

      it("rejects invalid space and segment names and stores nothing", async () => {
        for (const bad of badNames) {
          const name = bad as string;
          expect((await failure(() => store.produce(name, "g", records(1, 1)))).kind).toBe("invalid_argument");
          expect((await failure(() => store.produce("s", name, records(1, 1)))).kind).toBe("invalid_argument");
          expect((await failure(() => store.publish(name, "g", bytes("x")))).kind).toBe("invalid_argument");
          expect((await failure(() => store.readSegment({ space: name, segment: "g" }))).kind).toBe("invalid_argument");
          expect((await failure(() => store.readSpace({ space: name }))).kind).toBe("invalid_argument");
          expect((await failure(() => store.peek("s", name))).kind).toBe("invalid_argument");
          expect((await failure(() => store.listSegments(name))).kind).toBe("invalid_argument");
        }
        expect(await store.listSpaces()).toEqual([]);
        expect((await store.status()).spaces).toEqual([]);
        // The longest valid names are fine.
        await store.produce("x".repeat(256), "é".repeat(128), records(1, 1));
        expect(await store.listSegments("x".repeat(256))).toEqual(["é".repeat(128)]);
      });

      it("rejects invalid records and stores nothing", async () => {
        const bad: unknown[] = [
          [],
          [{ sequence: 0, payload: bytes("x") }],
          [{ sequence: -1, payload: bytes("x") }],
          [{ sequence: 1.5, payload: bytes("x") }],
          [{ sequence: "1", payload: bytes("x") }],
          [{ sequence: 1, payload: "x" }],
          [{ sequence: 1 }],
          [{ sequence: 1, payload: bytes("x"), metadata: { n: 1 } }],
          [{ sequence: 1, payload: bytes("x") }, null],
          "records",
        ];
        for (const batch of bad) {
          expect((await failure(() => store.produce("s", "g", batch as Record[]))).kind).toBe("invalid_argument");
        }
        expect((await failure(() => store.publish("s", "g", "x" as unknown as Uint8Array))).kind).toBe("invalid_argument");
        expect((await failure(() => store.publish("s", "g", bytes("x"), { n: 1 } as unknown as { [key: string]: string }))).kind).toBe(
          "invalid_argument",
        );
        expect(await store.listSpaces()).toEqual([]);
        expect(await store.segmentStatus("s", "g")).toBeUndefined();
      });

      it("rejects negative or fractional read bounds", async () => {
        expect((await failure(() => store.readSegment({ space: "s", segment: "g", limit: -1 }))).kind).toBe("invalid_argument");
        expect((await failure(() => store.readSegment({ space: "s", segment: "g", minSequence: 1.5 }))).kind).toBe("invalid_argument");
        expect((await failure(() => store.readSpace({ space: "s", afterPosition: -2 }))).kind).toBe("invalid_argument");
        expect((await failure(() => store.readSpace({ space: "s", maxTimestamp: -5 }))).kind).toBe("invalid_argument");
      });
    });

    describeLeaseConformance({ features: harness.features, store: () => store, reopen, open });

    describe("large reads", () => {
      const total = 20_000;

      it("streams a large range: a reader may stop early and the store carries on", async () => {
        for (let from = 1; from <= total; from += 1_000) await store.produce("big", "g", records(from, from + 999));
        let seen = 0;
        for await (const entry of store.readSpace({ space: "big" })) {
          expect(entry.sequence).toBe(++seen);
          if (seen === 10) break;
        }
        const segmentReader = store.readSegment({ space: "big", segment: "g", minSequence: 15_000 });
        const first = await segmentReader.next();
        expect(first.done ? undefined : first.value.sequence).toBe(15_000);
        await segmentReader.return?.();
        await store.produce("big", "g", records(total + 1, total + 1));
        let count = 0;
        let last = 0;
        for await (const entry of store.readSegment({ space: "big", segment: "g" })) {
          expect(entry.sequence).toBe(last + 1);
          last = entry.sequence;
          count++;
        }
        expect(count).toBe(total + 1);
      });
    });
  });
}
