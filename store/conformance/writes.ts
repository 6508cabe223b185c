import assert from "node:assert/strict";
import { type Record, type SegmentStatus, StreamsError } from "../../pkg/api/index.js";
import type { Store } from "../types.js";
import type { StoreSuiteContext } from "./context.js";
import { bytes, clockAt, collect, failure, greater, matches, payloads, records, sequences, text } from "./support.js";

/** Produce, sequence conflicts and publish, on the test's fresh store. */
export function describeWriteConformance(context: StoreSuiteContext): void {
  const { describe, it, beforeEach } = context.suite;
  let store: Store;
  beforeEach(() => {
    store = context.store();
  });

  describe("produce", () => {
    it("commits a batch and reports the segment's head", async () => {
      clockAt(1_000);
      const first = await store.produce("orders", "o-1", records(1, 3));
      assert.deepStrictEqual(first, { space: "orders", segment: "o-1", firstSequence: 1, firstTimestamp: 1_000, lastSequence: 3, lastTimestamp: 1_000 });
      clockAt(2_000);
      const second = await store.produce("orders", "o-1", records(4, 5));
      assert.deepStrictEqual(second, { space: "orders", segment: "o-1", firstSequence: 1, firstTimestamp: 1_000, lastSequence: 5, lastTimestamp: 2_000 });
      assert.deepStrictEqual(await store.segmentStatus("orders", "o-1"), second);
      assert.deepStrictEqual(await store.segmentStatuses("orders"), [second]);
      assert.strictEqual(await store.segmentStatus("orders", "o-2"), undefined);
      assert.deepStrictEqual(await store.segmentStatuses("nothing"), []);
      const entries = await collect(store.readSegment({ space: "orders", segment: "o-1" }));
      assert.deepStrictEqual(sequences(entries), [1, 2, 3, 4, 5]);
      assert.deepStrictEqual(payloads(entries), ["r-1", "r-2", "r-3", "r-4", "r-5"]);
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
      assert.deepStrictEqual(a?.payload, new Uint8Array([0, 255, 1, 0, 128]));
      assert.deepStrictEqual(a?.metadata, { kind: "created", "ü": "ß" });
      assert.deepStrictEqual(b?.payload, new Uint8Array(0));
      assert.deepStrictEqual(b?.metadata, {});
      assert.deepStrictEqual(c?.metadata, {});
    });

    it("stores what was produced, not what the caller's buffers hold later", async () => {
      const payload = bytes("original");
      await store.produce("s", "g", [{ sequence: 1, payload }]);
      payload.fill(0);
      const [entry] = await collect(store.readSegment({ space: "s", segment: "g" }));
      assert.strictEqual(text(entry?.payload ?? new Uint8Array()), "original");
    });

    it("gives a batch's entries one trx, and each batch a new id and a greater store-wide number", async () => {
      await store.produce("s", "a", records(1, 3));
      await store.produce("t", "b", records(1, 2));
      await store.produce("s", "a", records(4, 4));
      const s = await collect(store.readSegment({ space: "s", segment: "a" }));
      const [t1] = await collect(store.readSegment({ space: "t", segment: "b" }));
      const [first, second, third, fourth] = s;
      assert.deepStrictEqual(first?.trx, second?.trx);
      assert.deepStrictEqual(first?.trx, third?.trx);
      assert.strictEqual(typeof first?.trx.id, "string");
      assert.strictEqual(typeof first?.trx.node, "string");
      assert.strictEqual(new Set([first?.trx.id, t1?.trx.id, fourth?.trx.id]).size, 3);
      greater(t1?.trx.number, first?.trx.number ?? Infinity);
      greater(fourth?.trx.number, t1?.trx.number ?? Infinity);
    });

    it("commits batches of one segment issued without waiting, in order", async () => {
      const statuses = await Promise.all([
        store.produce("s", "g", records(1, 3)),
        store.produce("s", "g", records(4, 6)),
        store.produce("s", "g", records(7, 9)),
      ]);
      assert.deepStrictEqual(statuses.map((status) => status.lastSequence), [3, 6, 9]);
      assert.deepStrictEqual(sequences(await collect(store.readSegment({ space: "s", segment: "g" }))), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  describe("sequence conflicts", () => {
    async function expectConflict(batch: Record[], expected: number, actual: number): Promise<void> {
      const error = await failure(() => store.produce("orders", "o-1", batch));
      assert.strictEqual(error.kind, "sequence_conflict");
      assert.strictEqual(error.code, "permanent");
      assert.deepStrictEqual(error.details, { expected, actual });
    }

    it("rejects a first batch that does not start at 1, storing nothing", async () => {
      await expectConflict(records(2, 3), 1, 2);
      assert.strictEqual(await store.segmentStatus("orders", "o-1"), undefined);
      assert.deepStrictEqual(await store.listSpaces(), []);
      assert.deepStrictEqual(await store.listSegments("orders"), []);
      assert.deepStrictEqual(await collect(store.readSpace({ space: "orders" })), []);
    });

    it("rejects a batch not starting at lastSequence + 1 or not contiguous, leaving the segment unchanged", async () => {
      await store.produce("orders", "o-1", records(1, 2));
      const before = await store.segmentStatus("orders", "o-1");
      const spaceBefore = await collect(store.readSpace({ space: "orders" }));
      // docs/design.md, Contracts: a batch 3, 4, 6 on a segment at 2 → expected 5, actual 6.
      await expectConflict([...records(3, 4), ...records(6, 6)], 5, 6);
      await expectConflict(records(4, 5), 3, 4);
      await expectConflict(records(2, 3), 3, 2);
      await expectConflict(records(1, 1), 3, 1);
      assert.deepStrictEqual(await store.segmentStatus("orders", "o-1"), before);
      assert.deepStrictEqual(sequences(await collect(store.readSegment({ space: "orders", segment: "o-1" }))), [1, 2]);
      assert.deepStrictEqual(await collect(store.readSpace({ space: "orders" })), spaceBefore);
      assert.strictEqual((await store.produce("orders", "o-1", records(3, 4))).lastSequence, 4);
    });

    it("lets exactly one of many concurrent producers win each sequence", async () => {
      const producers = 8;
      for (let round = 0; round < 3; round++) {
        const from = round * 5 + 1;
        const results = await Promise.allSettled(
          Array.from({ length: producers }, (_, p) => store.produce("race", "g", records(from, from + 4, `p${p}`))),
        );
        const winners = results.flatMap((result, p) => (result.status === "fulfilled" ? [p] : []));
        assert.strictEqual(winners.length, 1);
        for (const result of results) {
          if (result.status === "rejected") assert.strictEqual((result.reason as StreamsError).kind, "sequence_conflict");
        }
        const entries = await collect(store.readSegment({ space: "race", segment: "g", minSequence: from }));
        assert.deepStrictEqual(payloads(entries), records(from, from + 4, `p${winners[0]}`).map((record) => text(record.payload)));
      }
      assert.strictEqual((await store.segmentStatus("race", "g"))?.lastSequence, 15);
    });
  });

  describe("publish", () => {
    it("appends at the next sequence, after produced batches too", async () => {
      const first = await store.publish("s", "g", bytes("one"));
      assert.strictEqual(first.lastSequence, 1);
      await store.produce("s", "g", records(2, 3));
      const next = await store.publish("s", "g", bytes("four"), { k: "v" });
      matches(next, { space: "s", segment: "g", firstSequence: 1, lastSequence: 4 });
      const entries = await collect(store.readSegment({ space: "s", segment: "g" }));
      assert.deepStrictEqual(payloads(entries), ["one", "r-2", "r-3", "four"]);
      assert.deepStrictEqual(entries[0]?.metadata, {});
      assert.deepStrictEqual(entries[3]?.metadata, { k: "v" });
    });

    it("never conflicts: 50 concurrent publishes take sequences 1..50", async () => {
      const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => store.publish("s", "g", bytes(`m${i}`))));
      const assigned = statuses.map((status: SegmentStatus) => status.lastSequence).sort((a, b) => a - b);
      assert.deepStrictEqual(assigned, Array.from({ length: 50 }, (_, i) => i + 1));
      const entries = await collect(store.readSegment({ space: "s", segment: "g" }));
      assert.deepStrictEqual(sequences(entries), assigned);
      assert.strictEqual(new Set(payloads(entries)).size, 50);
      // Each publish's answer describes its own entry, however the backend stored them together.
      statuses.forEach((status, i) => {
        const entry = entries[status.lastSequence - 1];
        assert.strictEqual(text(entry?.payload ?? new Uint8Array()), `m${i}`);
        assert.strictEqual(entry?.timestamp, status.lastTimestamp);
      });
      assert.deepStrictEqual(sequences(await collect(store.readSegment({ space: "s", segment: "g", minSequence: 20, maxSequence: 22 }))), [20, 21, 22]);
      assert.deepStrictEqual(sequences(await collect(store.readSpace({ space: "s" }))), assigned);
    });
  });

}
