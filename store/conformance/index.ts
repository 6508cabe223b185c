import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import type { Record } from "../../pkg/api/index.js";
import type { Store, StoreFactory, StoreFeatures, StoreOptions } from "../types.js";
import { describeChainConformance } from "./chains.js";
import type { StoreSuiteContext } from "./context.js";
import { describeDurabilityConformance } from "./durability.js";
import { describeLeaseConformance } from "./leases.js";
import { describeLifecycleConformance } from "./lifecycle.js";
import { describeProducerConformance } from "./producers.js";
import { describeReadConformance } from "./reads.js";
import { type SuiteRunner, suiteOf } from "./runner.js";
import { bytes, clockAt, collect, expectCommitOrder, failure, greater, matches, payloads, realClock, records } from "./support.js";
import { describeWriteConformance } from "./writes.js";

export type { SuiteRunner, TestBody } from "./runner.js";

/**
 * How the conformance suite gets at a backend. Every test starts from `createFactory` (fresh, empty
 * data) and ends with `disposeFactory`. What the backend supports is not said here: the suite reads
 * it from the `features` of a store the backend opens.
 */
export interface StoreHarness {
  /** A factory over fresh, empty data; its stores take `options` (StoreOptions) where given. */
  createFactory(options?: StoreOptions): Promise<StoreFactory>;
  /**
   * A new factory over the same data as `factory` (whose stores are closed), as a restarted process
   * would make. Defaults to `factory` itself, for backends whose data lives in the factory; a backend
   * that declares `durable` must give one.
   */
  reopenFactory?(factory: StoreFactory): Promise<StoreFactory>;
  /**
   * Another instance's factory over the same data as `factory`, used alongside it (its stores open
   * at the same time), for backends whose data several instances share (PostgreSQL; the memory
   * store, whose data lives in the factory, gives `factory` itself). Absent: those tests are skipped.
   */
  shareFactory?(factory: StoreFactory): Promise<StoreFactory>;
  /** Frees what `createFactory` or `reopenFactory` made. Defaults to `factory.close()`. */
  disposeFactory?(factory: StoreFactory): Promise<void>;
}

/** What the backend declares, read from a store it opens (as abstract-level's suite reads `db.supports`). */
async function featuresOf(harness: StoreHarness, dispose: (factory: StoreFactory) => Promise<void>): Promise<StoreFeatures> {
  const factory = await harness.createFactory();
  try {
    const store = await factory.open(randomUUID());
    const features = { ...store.features };
    await store.close();
    return features;
  } finally {
    await dispose(factory);
  }
}

/**
 * The storage contract (docs/design.md, Stores and Contracts), run against one backend under the
 * given runner: `await runStoreConformance({ describe, it, beforeEach, afterEach }, "name", harness)`
 * in a test file of vitest, node:test or mocha. It opens one store first to read what the backend
 * declares (`store.features`); tests of features it does not declare are registered as skipped.
 */
export async function runStoreConformance(runner: SuiteRunner, name: string, harness: StoreHarness): Promise<void> {
  const suite = suiteOf(runner);
  const { describe, it, itIf, beforeEach, afterEach } = suite;
  const reopenFactory = (factory: StoreFactory): Promise<StoreFactory> => harness.reopenFactory?.(factory) ?? Promise.resolve(factory);
  const disposeFactory = async (factory: StoreFactory): Promise<void> => {
    if (harness.disposeFactory !== undefined) await harness.disposeFactory(factory);
    else await factory.close?.();
  };
  const features = await featuresOf(harness, disposeFactory);

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

    async function restart(closing: Store): Promise<Store> {
      assert.ok(harness.reopenFactory !== undefined, "a backend that declares durable gives the harness a reopenFactory");
      await closing.close();
      await factory.close?.();
      const next = await harness.reopenFactory(factory);
      factories.push(next);
      return open(closing.storeId, next);
    }

    /** The data of `shared` opened by another instance (StoreHarness.shareFactory). */
    async function share(shared: Store): Promise<Store> {
      assert.ok(harness.shareFactory !== undefined, "the harness gives a shareFactory");
      const other = await harness.shareFactory(factory);
      if (other !== factory) factories.push(other);
      return open(shared.storeId, other);
    }

    const context: StoreSuiteContext = { suite, features, store: () => store, reopen, restart, open, ...(harness.shareFactory !== undefined && { share }) };

    beforeEach(async () => {
      factories = [];
      stores = [];
      factory = await harness.createFactory();
      factories.push(factory);
      store = await open(randomUUID());
    });

    afterEach(async () => {
      realClock();
      for (const opened of stores) await opened.close();
      for (const made of factories) await disposeFactory(made);
    });

    describeWriteConformance(context);

    describeReadConformance(context);

    describeChainConformance(context);

    describeDurabilityConformance(context);

    describe("listings and status", () => {
      // Code-point order, which differs from UTF-16 order for "ｚ" (U+FF5A) and "𝔸" (U+1D538).
      const names = ["é", "z", "𝔸", "Z", "ｚ", "a", "ab", "a b"];
      const sorted = ["Z", "a", "a b", "ab", "z", "é", "ｚ", "𝔸"];

      it("lists spaces and segments sorted by code point", async () => {
        for (const name of names) await store.produce(name, "g", records(1, 1));
        for (const name of names) await store.produce("s", name, records(1, 1));
        assert.deepStrictEqual(await store.listSpaces(), ["Z", "a", "a b", "ab", "s", "z", "é", "ｚ", "𝔸"]);
        assert.deepStrictEqual(await store.listSegments("s"), sorted);
        assert.deepStrictEqual((await store.segmentStatuses("s")).map((status) => status.segment), sorted);
        assert.deepStrictEqual(await store.listSegments("missing"), []);
      });

      it("reports per-space counts and heads, spaces sorted", async () => {
        assert.deepStrictEqual(await store.status(), { storeId: store.storeId, spaces: [] });
        clockAt(1_000);
        await store.produce("b", "x", records(1, 3));
        clockAt(2_000);
        await store.produce("b", "y", records(1, 2));
        clockAt(3_000);
        await store.produce("a", "x", records(1, 1));
        await store.publish("a", "x", bytes("p"));
        assert.deepStrictEqual(await store.status(), {
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
        assert.deepStrictEqual(payloads(await collect(store.readSpace({ space: "s" }))), ["mine-1", "mine-2"]);
        assert.deepStrictEqual(payloads(await collect(other.readSpace({ space: "s" }))), ["theirs-1"]);
        matches((await other.status()).spaces, [{ space: "s", entryCount: 1 }]);
      });

      it("reports the store id it was opened with", async () => {
        const id = randomUUID();
        assert.strictEqual((await open(id)).storeId, id);
      });

      it("closes idempotently and refuses work afterwards with unavailable", async () => {
        await store.close();
        await store.close();
        assert.strictEqual((await failure(() => store.produce("s", "g", records(1, 1)))).kind, "unavailable");
        assert.strictEqual((await failure(() => store.status())).kind, "unavailable");
      });

      it("finishes in-flight commits before closing", async () => {
        const pending = [store.produce("s", "g", records(1, 2)), store.produce("s", "h", records(1, 1)), store.publish("s", "g", bytes("p"))];
        await store.close();
        const statuses = await Promise.all(pending);
        assert.deepStrictEqual(statuses.map((status) => status.lastSequence), [2, 1, 3]);
      });

      itIf(features.reopen)("keeps everything across close and reopen, and carries on from there", async () => {
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
        clockAt(40_000);
        const reopened = await reopen(store);
        assert.strictEqual(reopened.storeId, store.storeId);
        assert.deepStrictEqual({
          spaces: await reopened.listSpaces(),
          segments: await reopened.listSegments("s"),
          statuses: await reopened.segmentStatuses("s"),
          status: await reopened.status(),
          space: await collect(reopened.readSpace({ space: "s" })),
          segment: await collect(reopened.readSegment({ space: "s", segment: "g" })),
          peek: await reopened.peek("s", "h"),
        }, before);
        const conflict = await failure(() => reopened.produce("s", "g", records(3, 3)));
        assert.deepStrictEqual(conflict.details, { expected: 4, actual: 3 });
        const status = await reopened.produce("s", "g", records(4, 4));
        matches(status, { lastSequence: 4, lastTimestamp: 50_000, firstTimestamp: 50_000 });
        const space = await collect(reopened.readSpace({ space: "s" }));
        expectCommitOrder(space);
        greater(space.at(-1)?.trx.number, Math.max(...before.space.map((entry) => entry.trx.number)));
      });
    });

    describe("invalid arguments", () => {
      const badNames: unknown[] = ["", "*", "a\u0000b", "tab\there", "\u0085", "x".repeat(257), "é".repeat(129), "\ud800", 7, undefined];

      it("rejects invalid space and segment names and stores nothing", async () => {
        for (const bad of badNames) {
          const name = bad as string;
          assert.strictEqual((await failure(() => store.produce(name, "g", records(1, 1)))).kind, "invalid_argument");
          assert.strictEqual((await failure(() => store.produce("s", name, records(1, 1)))).kind, "invalid_argument");
          assert.strictEqual((await failure(() => store.publish(name, "g", bytes("x")))).kind, "invalid_argument");
          assert.strictEqual((await failure(() => store.readSegment({ space: name, segment: "g" }))).kind, "invalid_argument");
          assert.strictEqual((await failure(() => store.readSpace({ space: name }))).kind, "invalid_argument");
          assert.strictEqual((await failure(() => store.peek("s", name))).kind, "invalid_argument");
          assert.strictEqual((await failure(() => store.listSegments(name))).kind, "invalid_argument");
        }
        assert.deepStrictEqual(await store.listSpaces(), []);
        assert.deepStrictEqual((await store.status()).spaces, []);
        // The longest valid names are fine.
        await store.produce("x".repeat(256), "é".repeat(128), records(1, 1));
        assert.deepStrictEqual(await store.listSegments("x".repeat(256)), ["é".repeat(128)]);
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
          assert.strictEqual((await failure(() => store.produce("s", "g", batch as Record[]))).kind, "invalid_argument");
        }
        assert.strictEqual((await failure(() => store.publish("s", "g", "x" as unknown as Uint8Array))).kind, "invalid_argument");
        assert.strictEqual((await failure(() => store.publish("s", "g", bytes("x"), { n: 1 } as unknown as { [key: string]: string }))).kind, 
          "invalid_argument",
        );
        assert.deepStrictEqual(await store.listSpaces(), []);
        assert.strictEqual(await store.segmentStatus("s", "g"), undefined);
      });

      it("rejects negative or fractional read bounds", async () => {
        assert.strictEqual((await failure(() => store.readSegment({ space: "s", segment: "g", limit: -1 }))).kind, "invalid_argument");
        assert.strictEqual((await failure(() => store.readSegment({ space: "s", segment: "g", minSequence: 1.5 }))).kind, "invalid_argument");
        assert.strictEqual((await failure(() => store.readSpace({ space: "s", afterPosition: -2 }))).kind, "invalid_argument");
        assert.strictEqual((await failure(() => store.readSpace({ space: "s", maxTimestamp: -5 }))).kind, "invalid_argument");
      });
    });

    describeLeaseConformance(context);

    describeLifecycleConformance(context);

    describeProducerConformance(context, async (maxProducers) => {
      const bounded = await harness.createFactory({ maxProducers });
      factories.push(bounded);
      return open(randomUUID(), bounded);
    });

    describe("large reads", () => {
      const total = 20_000;

      it("streams a large range: a reader may stop early and the store carries on", async () => {
        for (let from = 1; from <= total; from += 1_000) await store.produce("big", "g", records(from, from + 999));
        let seen = 0;
        for await (const entry of store.readSpace({ space: "big" })) {
          assert.strictEqual(entry.sequence, ++seen);
          if (seen === 10) break;
        }
        const segmentReader = store.readSegment({ space: "big", segment: "g", minSequence: 15_000 });
        const first = await segmentReader.next();
        assert.strictEqual(first.done ? undefined : first.value.sequence, 15_000);
        await segmentReader.return?.();
        await store.produce("big", "g", records(total + 1, total + 1));
        let count = 0;
        let last = 0;
        for await (const entry of store.readSegment({ space: "big", segment: "g" })) {
          assert.strictEqual(entry.sequence, last + 1);
          last = entry.sequence;
          count++;
        }
        assert.strictEqual(count, total + 1);
      });
    });
  });
}
