import { beforeEach, describe, expect, it, vi } from "vitest";
import { type Record, type SegmentStatus, StreamsError } from "../../pkg/api/index.js";
import type { Store } from "../types.js";
import { bytes, clockAt, collect, failure, payloads, records, sequences, text } from "./support.js";

/** Produce, sequence conflicts and publish, on the test's fresh store. */
export function describeWriteConformance(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
  });

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
      // docs/design.md, Contracts: a batch 3, 4, 6 on a segment at 2 → expected 5, actual 6.
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
      // Each publish's answer describes its own entry, however the backend stored them together.
      statuses.forEach((status, i) => {
        const entry = entries[status.lastSequence - 1];
        expect(text(entry?.payload ?? new Uint8Array())).toBe(`m${i}`);
        expect(entry?.timestamp).toBe(status.lastTimestamp);
      });
      expect(sequences(await collect(store.readSegment({ space: "s", segment: "g", minSequence: 20, maxSequence: 22 })))).toEqual([20, 21, 22]);
      expect(sequences(await collect(store.readSpace({ space: "s" })))).toEqual(assigned);
    });
  });

}
