import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Record } from "../../pkg/api/index.js";
import type { Store, StoreFactory, StoreFeatures, StoreOptions } from "../types.js";
import { describeLeaseConformance } from "./leases.js";
import { describeLifecycleConformance } from "./lifecycle.js";
import { describeProducerConformance } from "./producers.js";
import { describeReadConformance } from "./reads.js";
import { bytes, clockAt, collect, expectCommitOrder, failure, payloads, records } from "./support.js";
import { describeWriteConformance } from "./writes.js";

/**
 * How the conformance suite gets at a backend. Every test starts from `createFactory` (fresh, empty
 * data) and ends with `disposeFactory`.
 */
export interface StoreHarness {
  readonly features: StoreFeatures;
  /** A factory over fresh, empty data, its stores opened with `options`. */
  createFactory(options?: StoreOptions): Promise<StoreFactory>;
  /**
   * A new factory over the same data as `factory` (whose stores are closed), as a restarted process
   * would make. Defaults to `factory` itself, for backends whose data lives in the factory.
   */
  reopenFactory?(factory: StoreFactory): Promise<StoreFactory>;
  /** Frees what `createFactory` or `reopenFactory` made. Defaults to `factory.close()`. */
  disposeFactory?(factory: StoreFactory): Promise<void>;
}


/**
 * The storage contract (docs/design.md, Stores and Contracts), run against one backend. A backend's test file
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

    describeWriteConformance(() => store);

    describeReadConformance(() => store);
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

    describeLifecycleConformance({ features: harness.features, store: () => store, reopen, open });

    describeProducerConformance({
      features: harness.features,
      store: () => store,
      reopen,
      openBounded: async (maxProducers) => {
        const bounded = await harness.createFactory({ maxProducers });
        factories.push(bounded);
        return open(randomUUID(), bounded);
      },
    });

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
