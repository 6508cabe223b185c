import assert from "node:assert/strict";
import type { SegmentStatus } from "../../pkg/api/index.js";
import { StreamsError } from "../../pkg/api/index.js";
import type { ProduceChain, Store } from "../types.js";
import type { StoreSuiteContext } from "./context.js";
import { bytes, collect, failure, matches, payloads, records, rejection, sequences } from "./support.js";

/** Settles `promises`, keeping the order: each a status or the error it failed with. */
async function settle(promises: readonly Promise<SegmentStatus>[]): Promise<(SegmentStatus | StreamsError)[]> {
  return Promise.all(promises.map((promise) => promise.catch((error: unknown) => (assert.ok(error instanceof StreamsError), error))));
}

const segmentOf = async (store: Store, segment: string): Promise<number[]> => sequences(await collect(store.readSegment({ space: "s", segment })));

/**
 * The produce-chain contract (docs/design.md, Conformance suites; store/types.ts ProduceChain): once a
 * batch of a chain fails, `chain.failure` is that error before the batch's promise settles, and every
 * later batch of the chain is refused with it, unplaced. Backends that declare `pipelinedProduce` also
 * refuse, unplaced, the batches issued while the failing one was still in flight.
 */
export function describeChainConformance(context: StoreSuiteContext): void {
  const { describe, it, itIf } = context.suite;

  describe("produce chains", () => {
    it("refuses every batch of a chain after one failed, with that error and unplaced; others go on", async () => {
      const store = context.store();
      const chain: ProduceChain = {};
      await store.produce("s", "g", records(1, 2), chain);
      let seenBySettle: unknown;
      const failing = store.produce("s", "g", records(4, 4), chain).catch((error: unknown) => {
        seenBySettle = chain.failure;
        throw error;
      });
      const error = await failure(() => failing);
      matches(error, { kind: "sequence_conflict", details: { expected: 3, actual: 4 } });
      assert.strictEqual(seenBySettle, error, "chain.failure is set before the failed batch's promise settles");
      assert.strictEqual(chain.failure, error);
      // A batch that would fit, on the same segment or another, is refused with the same error.
      assert.strictEqual(await rejection(store.produce("s", "g", records(3, 3), chain)), error);
      assert.strictEqual(await rejection(store.produce("s", "h", records(1, 1), chain)), error);
      assert.deepStrictEqual(await segmentOf(store, "g"), [1, 2]);
      assert.strictEqual(await store.segmentStatus("s", "h"), undefined);
      // Nothing was placed: other producers and a new chain take sequence 3 and segment h from 1.
      assert.strictEqual((await store.produce("s", "g", records(3, 3))).lastSequence, 3);
      assert.strictEqual((await store.produce("s", "h", records(1, 1), {})).lastSequence, 1);
      assert.strictEqual((await store.publish("s", "g", bytes("p"))).lastSequence, 4);
    });

    it("fails a chain on a batch refused for its arguments too", async () => {
      const store = context.store();
      const chain: ProduceChain = {};
      const error = await failure(() => store.produce("s", "g", [{ sequence: 0, payload: bytes("x") }], chain));
      assert.strictEqual(error.kind, "invalid_argument");
      assert.strictEqual(chain.failure, error);
      assert.strictEqual(await rejection(store.produce("s", "g", records(1, 1), chain)), error);
      assert.deepStrictEqual(await store.listSpaces(), []);
    });

    itIf(context.features.pipelinedProduce === true)(
      "refuses, unplaced, the batches of a chain issued while its failing batch was in flight; other chains in the same commits go on",
      async () => {
        const store = context.store();
        const chain: ProduceChain = {};
        const other: ProduceChain = {};
        // All issued without waiting, so they share commits: 4 conflicts (expected 3), and 3.., which
        // would fit after 2, come after it in the chain.
        const issued = [
          store.produce("s", "g", records(1, 2), chain),
          store.produce("s", "x", records(1, 1, "o"), other),
          store.produce("s", "g", records(4, 4), chain),
          store.produce("s", "x", records(2, 2, "o"), other),
          store.produce("s", "g", records(3, 3), chain),
          store.produce("s", "g", records(3, 5), chain),
          store.produce("s", "h", records(1, 1), chain),
          store.produce("s", "x", records(3, 3, "o"), other),
        ];
        const [first, x1, conflict, x2, ...rest] = await settle(issued);
        const x3 = rest.pop();
        matches(first, { lastSequence: 2 });
        assert.ok(conflict instanceof StreamsError);
        matches(conflict, { kind: "sequence_conflict", details: { expected: 3, actual: 4 } });
        for (const later of rest) assert.strictEqual(later, conflict);
        assert.strictEqual(chain.failure, conflict);
        assert.deepStrictEqual([x1, x2, x3].map((status) => (status as SegmentStatus).lastSequence), [1, 2, 3]);
        assert.strictEqual(other.failure, undefined);
        assert.deepStrictEqual(await segmentOf(store, "g"), [1, 2]);
        assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "x" }))), ["o-1", "o-2", "o-3"]);
        assert.strictEqual(await store.segmentStatus("s", "h"), undefined);
        assert.strictEqual((await store.produce("s", "g", records(3, 3))).lastSequence, 3);
      },
    );
  });
}
