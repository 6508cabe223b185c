import assert from "node:assert/strict";
import type { Producer } from "../../pkg/api/index.js";
import { isRepeatedAck } from "../producers.js";
import type { Store } from "../types.js";
import type { StoreSuiteContext } from "./context.js";
import { bytes, collect, failure, payloads, sequences } from "./support.js";

const stamp = (id: string, epoch: number, sequence: number): Producer => ({ id, epoch, sequence });

/** Idempotent publish (docs/design.md, Idempotent publish): a stamped publish is stored once per producer, epoch, sequence and segment. */
export function describeProducerConformance(context: StoreSuiteContext, openBounded: (maxProducers: number) => Promise<Store>): void {
  const { describe, it, itIf } = context.suite;
  describe("idempotent publish", () => {
    it("stores a repeated publish once and answers it with the first acknowledgement", async () => {
      const store = context.store();
      const first = await store.publish("s", "g", bytes("a"), { kind: "x" }, stamp("p", 0, 0));
      await store.publish("s", "g", bytes("other"));
      const again = await store.publish("s", "g", bytes("a"), { kind: "x" }, stamp("p", 0, 0));
      assert.deepStrictEqual(again, { ...first, lastSequence: 1, lastTimestamp: first.lastTimestamp });
      assert.strictEqual(first.lastSequence, 1);
      assert.strictEqual(isRepeatedAck(again), true);
      assert.strictEqual(isRepeatedAck(first), false);
      const entries = await collect(store.readSegment({ space: "s", segment: "g" }));
      assert.deepStrictEqual(payloads(entries), ["a", "other"]);
      // The stamp is stored with the entry: the data is the dedupe state.
      assert.deepStrictEqual(entries[0]?.metadata, { kind: "x", "ds.producer": "p", "ds.epoch": "0", "ds.seq": "0" });
    });

    it("answers each retried publish of a run with its own acknowledgement", async () => {
      const store = context.store();
      const acks = [];
      for (let sequence = 0; sequence < 5; sequence++) acks.push(await store.publish("s", "g", bytes(`m-${sequence}`), undefined, stamp("p", 3, sequence)));
      const retried = await Promise.all([0, 1, 2, 3, 4].map((sequence) => store.publish("s", "g", bytes(`m-${sequence}`), undefined, stamp("p", 3, sequence))));
      assert.deepStrictEqual(retried.map((status) => status.lastSequence), acks.map((status) => status.lastSequence));
      assert.deepStrictEqual(retried.map((status) => status.lastTimestamp), acks.map((status) => status.lastTimestamp));
      const next = await store.publish("s", "g", bytes("m-5"), undefined, stamp("p", 3, 5));
      assert.strictEqual(next.lastSequence, 6);
      assert.deepStrictEqual(sequences(await collect(store.readSegment({ space: "s", segment: "g" }))), [1, 2, 3, 4, 5, 6]);
    });

    it("stores a publish once when its attempts race", async () => {
      const store = context.store();
      const attempts = await Promise.all([
        store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0)),
        store.publish("s", "g", bytes("plain")),
        store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0)),
        store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0)),
      ]);
      const stamped = [attempts[0], attempts[2], attempts[3]].map((status) => status?.lastSequence);
      assert.strictEqual(new Set(stamped).size, 1);
      const entries = await collect(store.readSegment({ space: "s", segment: "g" }));
      assert.deepStrictEqual(payloads(entries).sort(), ["a", "plain"]);
    });

    it("decides publishes made together in order: repeats among them, a new epoch, a fenced one", async () => {
      const store = context.store();
      const publish = (tag: string, epoch: number, sequence: number) => store.publish("s", "g", bytes(tag), undefined, stamp("p", epoch, sequence));
      const results = await Promise.allSettled([
        publish("a", 0, 0),
        publish("b", 0, 1),
        publish("b", 0, 1),
        publish("c", 0, 2),
        publish("a", 0, 0),
        publish("x", 1, 0),
        publish("late", 0, 3),
        publish("x", 1, 0),
        publish("y", 1, 1),
      ]);
      const sequence = (index: number): number | string => {
        const result = results[index];
        return result?.status === "fulfilled" ? result.value.lastSequence : (result?.reason as { kind: string }).kind;
      };
      assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map(sequence), [1, 2, 2, 3, 1, 4, "failed_precondition", 4, 5]);
      assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["a", "b", "c", "x", "y"]);
    });

    it("fences an epoch older than the producer's latest, and a new epoch starts afresh", async () => {
      const store = context.store();
      await store.publish("s", "g", bytes("e1"), undefined, stamp("p", 1, 7));
      const fenced = await failure(() => store.publish("s", "g", bytes("zombie"), undefined, stamp("p", 0, 8)));
      assert.strictEqual(fenced.kind, "failed_precondition");
      assert.strictEqual(fenced.code, "permanent");
      assert.match(fenced.message, /fenced/);
      assert.deepStrictEqual(fenced.details, { producer: "p", epoch: 1 });
      const renewed = await store.publish("s", "g", bytes("e2"), undefined, stamp("p", 2, 0));
      assert.strictEqual(renewed.lastSequence, 2);
      assert.strictEqual((await failure(() => store.publish("s", "g", bytes("late"), undefined, stamp("p", 1, 8)))).kind, "failed_precondition");
      assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["e1", "e2"]);
    });

    it("keeps producers apart per id and per segment", async () => {
      const store = context.store();
      const a = await store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0));
      const b = await store.publish("s", "g", bytes("b"), undefined, stamp("q", 0, 0));
      const c = await store.publish("s", "h", bytes("c"), undefined, stamp("p", 0, 0));
      const d = await store.publish("t", "g", bytes("d"), undefined, stamp("p", 0, 0));
      assert.deepStrictEqual([a, b, c, d].map((status) => status.lastSequence), [1, 2, 1, 1]);
    });

    it("refuses a retry of a publish that was never stored once the producer has gone past it", async () => {
      const store = context.store();
      await store.publish("s", "g", bytes("0"), undefined, stamp("p", 0, 0));
      // Sequence 1 failed (it never reached the store); 2 went on.
      await store.publish("s", "g", bytes("2"), undefined, stamp("p", 0, 2));
      const refused = await failure(() => store.publish("s", "g", bytes("1"), undefined, stamp("p", 0, 1)));
      assert.strictEqual(refused.kind, "failed_precondition");
      assert.match(refused.message, /was not stored/);
      assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["0", "2"]);
    });

    it("finds the acknowledgement of a publish older than those kept in memory", async () => {
      const store = context.store();
      const first = await store.publish("s", "g", bytes("first"), undefined, stamp("p", 0, 0));
      const publishes = [];
      for (let sequence = 1; sequence <= 260; sequence++) publishes.push(store.publish("s", "g", bytes(`m-${sequence}`), undefined, stamp("p", 0, sequence)));
      await Promise.all(publishes);
      const again = await store.publish("s", "g", bytes("first"), undefined, stamp("p", 0, 0));
      assert.strictEqual(again.lastSequence, first.lastSequence);
      assert.strictEqual((await store.segmentStatus("s", "g"))?.lastSequence, 261);
    });

    it("refuses a malformed stamp with invalid_argument", async () => {
      const store = context.store();
      for (const bad of [{ id: "", epoch: 0, sequence: 0 }, { id: "p", epoch: -1, sequence: 0 }, { id: "p", epoch: 0, sequence: 1.5 }, { id: "p" }]) {
        assert.strictEqual((await failure(() => store.publish("s", "g", bytes("x"), undefined, bad as Producer))).kind, "invalid_argument");
      }
      assert.strictEqual(await store.segmentStatus("s", "g"), undefined);
    });

    it("keeps exactly-once past its bound on producers: a forgotten state is read again from the data", async () => {
      const store = await openBounded(2);
      const acks = new Map<string, number>();
      for (let round = 0; round < 2; round++) {
        for (let producer = 0; producer < 6; producer++) {
          const status = await store.publish("s", `g-${producer % 3}`, bytes(`p${producer}`), undefined, stamp(`p${producer}`, 0, 0));
          if (round === 0) acks.set(`p${producer}`, status.lastSequence);
          else assert.strictEqual(status.lastSequence, acks.get(`p${producer}`));
        }
      }
      for (let segment = 0; segment < 3; segment++) {
        assert.strictEqual((await store.segmentStatus("s", `g-${segment}`))?.lastSequence, 2);
      }
    });

    it("refuses a stamp stored before with a different payload or metadata, naming producer, epoch and sequence", async () => {
      const store = context.store();
      const first = await store.publish("s", "g", bytes("a"), { kind: "x" }, stamp("p", 0, 0));
      for (const [payload, metadata] of [["b", { kind: "x" }], ["a", { kind: "y" }], ["a", undefined]] as const) {
        const refused = await failure(() => store.publish("s", "g", bytes(payload), metadata, stamp("p", 0, 0)));
        assert.strictEqual(refused.kind, "failed_precondition");
        assert.match(refused.message, /differs from the publish stored at sequence 1 with the same stamp/);
        assert.deepStrictEqual(refused.details, { producer: "p", epoch: 0, sequence: 0, storedAt: 1 });
      }
      // A retry (the same payload and metadata) is still answered as stored.
      assert.strictEqual((await store.publish("s", "g", bytes("a"), { kind: "x" }, stamp("p", 0, 0))).lastSequence, first.lastSequence);
      assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["a"]);
    });

    it("refuses a reused stamp among publishes made together, and one older than the acknowledgements kept", async () => {
      const store = context.store();
      const together = await Promise.allSettled([
        store.publish("s", "g", bytes("mine"), undefined, stamp("p", 0, 0)),
        store.publish("s", "g", bytes("theirs"), undefined, stamp("p", 0, 0)),
      ]);
      assert.deepStrictEqual(
        together.map((result) => (result.status === "fulfilled" ? result.value.lastSequence : (result.reason as { kind: string }).kind)),
        [1, "failed_precondition"],
      );
      const publishes = [];
      for (let sequence = 1; sequence <= 300; sequence++) publishes.push(store.publish("s", "g", bytes(`m-${sequence}`), undefined, stamp("p", 0, sequence)));
      await Promise.all(publishes);
      const old = await failure(() => store.publish("s", "g", bytes("other"), undefined, stamp("p", 0, 2)));
      assert.strictEqual(old.kind, "failed_precondition");
      assert.deepStrictEqual(old.details, { producer: "p", epoch: 0, sequence: 2, storedAt: 3 });
      assert.strictEqual((await store.publish("s", "g", bytes("m-2"), undefined, stamp("p", 0, 2))).lastSequence, 3);
      assert.strictEqual((await store.segmentStatus("s", "g"))?.lastSequence, 301);
    });

    itIf(context.features.lifecycle === true && context.share !== undefined)(
      "never answers from what it read of a segment before another instance purged it",
      async () => {
        const store = context.store();
        const other = await (context.share as (store: Store) => Promise<Store>)(store);
        await store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0));
        await store.publish("s", "g", bytes("b"), undefined, stamp("p", 0, 1));
        await other.deleteSegment("s", "g", { purge: true });
        // Sequences start again after the purge, and go past what the first instance had read.
        for (const tag of ["x", "y", "z"]) await other.publish("s", "g", bytes(tag));
        const again = await store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0));
        assert.strictEqual(isRepeatedAck(again), false);
        assert.strictEqual(again.lastSequence, 4);
        // A later sequence of the producer is not refused as "not stored" either.
        assert.strictEqual((await store.publish("s", "g", bytes("c"), undefined, stamp("p", 0, 1))).lastSequence, 5);
        assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["x", "y", "z", "a", "c"]);
      },
    );

    itIf(context.features.reopen)("answers a retry after the store is reopened with the first acknowledgement", async () => {
      const store = context.store();
      const first = await store.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0));
      const second = await store.publish("s", "g", bytes("b"), undefined, stamp("p", 0, 1));
      const reopened = await context.reopen(store);
      assert.strictEqual((await reopened.publish("s", "g", bytes("a"), undefined, stamp("p", 0, 0))).lastSequence, first.lastSequence);
      assert.strictEqual((await reopened.publish("s", "g", bytes("b"), undefined, stamp("p", 0, 1))).lastSequence, second.lastSequence);
      assert.strictEqual((await reopened.publish("s", "g", bytes("c"), undefined, stamp("p", 0, 2))).lastSequence, 3);
      await reopened.publish("s", "g", bytes("d"), undefined, stamp("p", 1, 0));
      const again = await context.reopen(reopened);
      assert.strictEqual((await failure(() => again.publish("s", "g", bytes("zombie"), undefined, stamp("p", 0, 3)))).kind, "failed_precondition");
      assert.deepStrictEqual(payloads(await collect(again.readSegment({ space: "s", segment: "g" }))), ["a", "b", "c", "d"]);
    });
  });
}
