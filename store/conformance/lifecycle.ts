import { describe, expect, it, vi } from "vitest";
import { decodeOffsetOf, type SegmentStatus } from "../../pkg/api/internal/index.js";
import type { Store, StoreFeatures, StoreFactory } from "../types.js";
import { bytes, clockAt, collect, expectCommitOrder, failure, payloads, records, sequences } from "./support.js";

/** What the lifecycle group needs from the suite around it. */
export interface LifecycleSuiteContext {
  readonly features: StoreFeatures;
  /** The test's fresh store. */
  store(): Store;
  /** Closes `store` and opens its data again, as a restarted process would. */
  reopen(store: Store): Promise<Store>;
  /** Opens a store of the test's factory. */
  open(storeId: string, from?: StoreFactory): Promise<Store>;
}

/** Delete, truncate, close and retention (docs/lifecycle.md), on backends that declare `lifecycle`. */
export function describeLifecycleConformance(context: LifecycleSuiteContext): void {
  describe.skipIf(context.features.lifecycle !== true)("lifecycle", () => {
    const segment = async (store: Store, range: { minSequence?: number } = {}): Promise<number[]> =>
      sequences(await collect(store.readSegment({ space: "s", segment: "g", ...range })));

    /** Segment g of space s: 1..10, sequence n at timestamp 1000·n; segment h: 1..2 in between. */
    async function fill(store: Store): Promise<void> {
      clockAt(0);
      for (let n = 1; n <= 10; n++) {
        vi.setSystemTime(1_000 * n);
        await store.produce("s", "g", records(n, n));
        if (n === 5) await store.produce("s", "h", records(1, 2));
      }
    }

    describe("truncateSegment", () => {
      it("removes the entries before a sequence; first sequence and timestamp move up", async () => {
        const store = context.store();
        await fill(store);
        const status = await store.truncateSegment("s", "g", 4);
        expect(status).toEqual({ space: "s", segment: "g", firstSequence: 4, firstTimestamp: 4_000, lastSequence: 10, lastTimestamp: 10_000 });
        expect(await store.segmentStatus("s", "g")).toEqual(status);
        expect(await segment(store)).toEqual([4, 5, 6, 7, 8, 9, 10]);
        expect(await segment(store, { minSequence: 0 })).toEqual([4, 5, 6, 7, 8, 9, 10]);
        expect(await segment(store, { minSequence: 6 })).toEqual([6, 7, 8, 9, 10]);
        expect((await store.status()).spaces).toEqual([{ space: "s", segmentCount: 2, entryCount: 9, lastTimestamp: 10_000 }]);
        expect((await store.usage()).entries).toBe(9);
        expect((await store.peek("s", "g"))?.sequence).toBe(10);
      });

      it("fails a read starting inside the removed range with out_of_range naming the first kept sequence", async () => {
        const store = context.store();
        await fill(store);
        await store.truncateSegment("s", "g", 4);
        for (const minSequence of [1, 3]) {
          const error = await failure(() => store.readSegment({ space: "s", segment: "g", minSequence }));
          expect(error).toMatchObject({ kind: "out_of_range", code: "permanent", details: { firstSequence: 4 } });
          const chunks = await failure(() => store.readSegmentChunks?.({ space: "s", segment: "g", minSequence }) ?? store.readSegment({ space: "s", segment: "g", minSequence }));
          expect(chunks.kind).toBe("out_of_range");
        }
        expect(await segment(store, { minSequence: 4 })).toEqual([4, 5, 6, 7, 8, 9, 10]);
      });

      it("removes the entries from space reads; resuming before the first kept entry is out_of_range with the first offset", async () => {
        const store = context.store();
        await fill(store);
        const before = await collect(store.readSpace({ space: "s" }));
        await store.truncateSegment("s", "g", 4);
        const space = await collect(store.readSpace({ space: "s" }));
        expect(space.map((entry) => `${entry.segment}${entry.sequence}`)).toEqual(["g4", "g5", "h1", "h2", "g6", "g7", "g8", "g9", "g10"]);
        expectCommitOrder(space.filter((entry) => entry.segment === "h"));
        const positionOf = (name: string, sequence: number): number =>
          (before.find((entry) => entry.segment === name && entry.sequence === sequence) as { position: number }).position;
        // Resuming after g1 (inside the removed range) fails, naming the offset that resumes at g4.
        const error = await failure(() => store.readSpace({ space: "s", afterPosition: positionOf("g", 1) }));
        expect(error).toMatchObject({ kind: "out_of_range", code: "permanent" });
        const firstOffset = (error.details as { firstOffset: string }).firstOffset;
        const resumed = await collect(store.readSpace({ space: "s", afterPosition: decodeOffsetOf("space", firstOffset) }));
        expect(resumed).toEqual(space);
        // Resuming after the last removed entry, or after a kept one, is fine.
        expect(await collect(store.readSpace({ space: "s", afterPosition: positionOf("g", 3) }))).toEqual(space);
        expect((await collect(store.readSpace({ space: "s", afterPosition: positionOf("h", 1) }))).map((entry) => entry.sequence)).toEqual([
          2, 6, 7, 8, 9, 10,
        ]);
      });

      it("fails a read under way when it reaches entries removed since it began, after a contiguous prefix; space reads skip them", async () => {
        const store = context.store();
        await Promise.all(Array.from({ length: 600 }, (_, i) => store.produce("s", "g", records(i + 1, i + 1))));
        const seen: number[] = [];
        const reader = store.readSegment({ space: "s", segment: "g" });
        const spaceReader = store.readSpace({ space: "s" });
        const spaceFirst = await spaceReader.next();
        let failed: unknown;
        try {
          for await (const entry of reader) {
            seen.push(entry.sequence);
            if (seen.length === 1) await store.truncateSegment("s", "g", 590);
          }
        } catch (error) {
          failed = error;
        }
        expect(failed).toMatchObject({ kind: "out_of_range", details: { firstSequence: 590 } });
        expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
        const rest = await collect({ [Symbol.asyncIterator]: () => spaceReader });
        const spaceSequences = [spaceFirst.done === true ? 0 : spaceFirst.value.sequence, ...sequences(rest)];
        // Whatever the space read had fetched before the truncation, it then goes on at 590 with no disorder.
        expect(spaceSequences.slice(-11)).toEqual(Array.from({ length: 11 }, (_, i) => 590 + i));
        expect(spaceSequences).toEqual([...spaceSequences].sort((a, b) => a - b));
      });

      it("clamps to the head, is a no-op below the first kept sequence, and never reuses a sequence", async () => {
        const store = context.store();
        await fill(store);
        await store.truncateSegment("s", "g", 6);
        expect((await store.truncateSegment("s", "g", 3)).firstSequence).toBe(6);
        const emptied = await store.truncateSegment("s", "g", 1_000);
        expect(emptied).toMatchObject({ firstSequence: 11, lastSequence: 10, lastTimestamp: 10_000 });
        expect(await segment(store)).toEqual([]);
        expect(await store.listSegments("s")).toEqual(["g", "h"]);
        expect((await failure(() => store.produce("s", "g", records(1, 1)))).details).toEqual({ expected: 11, actual: 1 });
        vi.setSystemTime(20_000);
        expect(await store.produce("s", "g", records(11, 12))).toMatchObject({ firstSequence: 11, firstTimestamp: 20_000, lastSequence: 12 });
        expect(await segment(store)).toEqual([11, 12]);
        expect((await store.publish("s", "g", bytes("p"))).lastSequence).toBe(13);
      });

      it("refuses a missing segment with not_found and bad sequences with invalid_argument", async () => {
        const store = context.store();
        await fill(store);
        expect((await failure(() => store.truncateSegment("s", "missing", 2))).kind).toBe("not_found");
        for (const bad of [0, -1, 1.5, "2"]) {
          expect((await failure(() => store.truncateSegment("s", "g", bad as number))).kind).toBe("invalid_argument");
        }
        expect((await failure(() => store.truncateSegment("*", "g", 2))).kind).toBe("invalid_argument");
      });
    });

    describe("deleteSegment and deleteSpace", () => {
      it("deletes a segment: gone from reads and listings, its tombstone keeps the sequences", async () => {
        const store = context.store();
        await fill(store);
        const tombstone = await store.deleteSegment("s", "g");
        expect(tombstone).toEqual({ space: "s", segment: "g", firstSequence: 11, firstTimestamp: 10_000, lastSequence: 10, lastTimestamp: 10_000, deleted: true });
        expect(await store.listSegments("s")).toEqual(["h"]);
        expect((await store.segmentStatuses("s")).map((status) => status.segment)).toEqual(["h"]);
        expect(await store.segmentStatus("s", "g")).toEqual(tombstone);
        expect(await segment(store)).toEqual([]);
        expect((await failure(() => store.readSegment({ space: "s", segment: "g", minSequence: 5 }))).details).toEqual({ firstSequence: 11 });
        expect((await collect(store.readSpace({ space: "s" }))).map((entry) => entry.segment)).toEqual(["h", "h"]);
        expect((await store.status()).spaces).toEqual([{ space: "s", segmentCount: 1, entryCount: 2, lastTimestamp: 10_000 }]);
        // Idempotent; a segment that never existed is not_found.
        expect(await store.deleteSegment("s", "g")).toEqual(tombstone);
        expect((await failure(() => store.deleteSegment("s", "never"))).kind).toBe("not_found");
        expect((await failure(() => store.truncateSegment("s", "g", 12))).kind).toBe("not_found");
        // A later produce continues after the old head and brings the segment back.
        expect((await failure(() => store.produce("s", "g", records(1, 1)))).details).toEqual({ expected: 11, actual: 1 });
        vi.setSystemTime(30_000);
        const revived = await store.produce("s", "g", records(11, 11, "new"));
        expect(revived).toEqual({ space: "s", segment: "g", firstSequence: 11, firstTimestamp: 30_000, lastSequence: 11, lastTimestamp: 30_000 });
        expect(payloads(await collect(store.readSegment({ space: "s", segment: "g" })))).toEqual(["new-11"]);
        expect(await store.listSegments("s")).toEqual(["g", "h"]);
      });

      it("deletes a space: every segment tombstoned, the space unlisted, positions and sequences go on", async () => {
        const store = context.store();
        await fill(store);
        await store.produce("t", "x", records(1, 1));
        const tombstones = await store.deleteSpace("s");
        expect(tombstones.map((status) => [status.segment, status.lastSequence, status.deleted])).toEqual([
          ["g", 10, true],
          ["h", 2, true],
        ]);
        expect(await store.listSpaces()).toEqual(["t"]);
        expect(await store.listSegments("s")).toEqual([]);
        expect(await collect(store.readSpace({ space: "s" }))).toEqual([]);
        expect((await store.status()).spaces.map((space) => space.space)).toEqual(["t"]);
        expect((await failure(() => store.deleteSpace("s"))).kind).toBe("not_found");
        expect((await failure(() => store.deleteSpace("never"))).kind).toBe("not_found");
        const old = await collect(store.readSpace({ space: "t" }));
        await store.produce("s", "h", records(3, 3));
        const space = await collect(store.readSpace({ space: "s" }));
        expect(space.map((entry) => entry.sequence)).toEqual([3]);
        expect(space[0]?.position).toBe(13);
        expect(await collect(store.readSpace({ space: "t" }))).toEqual(old);
      });

      it("deletes the store: closed now, empty when opened again", async () => {
        const store = context.store();
        await fill(store);
        await store.acquireLease("k", "a", 60_000);
        await store.setRetention("s", { maxEntriesPerSegment: 5 });
        await store.deleteStore();
        expect((await failure(() => store.status())).kind).toBe("unavailable");
        const again = await context.open(store.storeId);
        expect(await again.listSpaces()).toEqual([]);
        expect(await again.getRetention("s")).toEqual({});
        expect((await again.acquireLease("k", "b", 60_000)).ok).toBe(true);
        expect((await again.produce("s", "g", records(1, 1))).lastSequence).toBe(1);
      });
    });

    describe("closeSegment", () => {
      it("refuses produce and publish with failed_precondition; reads and status go on", async () => {
        const store = context.store();
        await fill(store);
        const closed = await store.closeSegment("s", "g");
        expect(closed).toMatchObject({ firstSequence: 1, lastSequence: 10, closed: true });
        expect(await store.closeSegment("s", "g")).toEqual(closed);
        for (const write of [() => store.produce("s", "g", records(11, 11)), () => store.publish("s", "g", bytes("p"))]) {
          const error = await failure(write);
          expect(error).toMatchObject({ kind: "failed_precondition", code: "permanent" });
        }
        expect(await store.segmentStatus("s", "g")).toEqual(closed);
        expect(await segment(store)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect((await store.produce("s", "h", records(3, 3))).lastSequence).toBe(3);
        expect((await failure(() => store.closeSegment("s", "never"))).kind).toBe("not_found");
        // Truncation still applies to a closed segment.
        expect(await store.truncateSegment("s", "g", 9)).toMatchObject({ firstSequence: 9, closed: true });
      });
    });

    describe("retention", () => {
      it("sets, replaces and removes a space's retention; refuses bad ones", async () => {
        const store = context.store();
        expect(await store.getRetention("s")).toEqual({});
        await store.setRetention("s", { maxAgeMs: 60_000, maxEntriesPerSegment: 0 });
        expect(await store.getRetention("s")).toEqual({ maxAgeMs: 60_000 });
        await store.setRetention("s", { maxBytesPerSegment: 100 });
        expect(await store.getRetention("s")).toEqual({ maxBytesPerSegment: 100 });
        await store.setRetention("s", {});
        expect(await store.getRetention("s")).toEqual({});
        for (const bad of [{ maxAgeMs: -1 }, { maxAgeMs: 1.5 }, { other: 1 }, null, "x"]) {
          expect((await failure(() => store.setRetention("s", bad as never))).kind).toBe("invalid_argument");
        }
      });

      it("enforces each bound on every segment of the space, and nothing elsewhere", async () => {
        const store = context.store();
        await fill(store);
        await store.produce("t", "g", records(1, 10));
        await store.setRetention("s", { maxEntriesPerSegment: 4 });
        expect(await store.enforceRetention({ now: 10_000 })).toEqual({ segments: 1, entries: 6 });
        expect(await segment(store)).toEqual([7, 8, 9, 10]);
        expect((await store.segmentStatus("s", "h"))?.firstSequence).toBe(1);
        await store.setRetention("s", { maxAgeMs: 2_500 });
        // At 11,000 entries older than 8,500 go: g7 and g8.
        expect(await store.enforceRetention({ now: 11_000 })).toEqual({ segments: 2, entries: 4 });
        expect(await segment(store)).toEqual([9, 10]);
        expect(await store.listSegments("s")).toEqual(["g", "h"]);
        expect((await store.segmentStatus("s", "h"))?.firstSequence).toBe(3);
        // Payloads are "r-9", "r-10": 3 and 4 bytes.
        await store.setRetention("s", { maxBytesPerSegment: 5 });
        expect(await store.enforceRetention({ now: 11_000 })).toEqual({ segments: 1, entries: 1 });
        expect(await segment(store)).toEqual([10]);
        expect((await store.enforceRetention({ now: 11_000 })).segments).toBe(0);
        expect((await store.segmentStatus("t", "g"))?.firstSequence).toBe(1);
      });

      it("keeps every produce of a concurrent sweep, in order", async () => {
        const store = context.store();
        await store.setRetention("s", { maxEntriesPerSegment: 50 });
        const produced: Promise<SegmentStatus>[] = [];
        let sweeps = 0;
        for (let round = 0; round < 20; round++) {
          for (let i = 0; i < 10; i++) produced.push(store.produce("s", "g", records(round * 10 + i + 1, round * 10 + i + 1)));
          produced.push(store.publish("s", "p", bytes(`p${round}`)));
          const sweep = store.enforceRetention();
          for (let i = 0; i < 5; i++) produced.push(store.publish("s", "p", bytes(`q${round}-${i}`)));
          await sweep;
          sweeps++;
        }
        const statuses = await Promise.all(produced);
        expect(statuses.filter((status) => status.segment === "g").map((status) => status.lastSequence)).toEqual(
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        expect(sweeps).toBe(20);
        await store.enforceRetention();
        expect(await segment(store)).toEqual(Array.from({ length: 50 }, (_, i) => 151 + i));
        const space = await collect(store.readSpace({ space: "s" }));
        expect(space.filter((entry) => entry.segment === "g").map((entry) => entry.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => 151 + i));
        expect(space.filter((entry) => entry.segment === "p").map((entry) => entry.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
      });
    });

    it.skipIf(context.features.reopen !== true)("keeps truncations, tombstones, closed segments and retention across reopen", async () => {
      const first = context.store();
      await fill(first);
      await first.produce("s", "x", records(1, 3));
      await first.truncateSegment("s", "g", 4);
      await first.deleteSegment("s", "h");
      await first.closeSegment("s", "x");
      await first.setRetention("s", { maxAgeMs: 1_000 });
      const statuses = await first.segmentStatuses("s");
      const space = await collect(first.readSpace({ space: "s" }));
      const store = await context.reopen(first);
      expect(await store.segmentStatuses("s")).toEqual(statuses);
      expect(await store.segmentStatus("s", "h")).toMatchObject({ lastSequence: 2, deleted: true });
      expect(await collect(store.readSpace({ space: "s" }))).toEqual(space);
      expect(await segment(store)).toEqual([4, 5, 6, 7, 8, 9, 10]);
      expect((await failure(() => store.readSegment({ space: "s", segment: "g", minSequence: 2 }))).details).toEqual({ firstSequence: 4 });
      expect((await failure(() => store.produce("s", "x", records(4, 4)))).kind).toBe("failed_precondition");
      expect((await failure(() => store.produce("s", "h", records(1, 1)))).details).toEqual({ expected: 3, actual: 1 });
      expect(await store.getRetention("s")).toEqual({ maxAgeMs: 1_000 });
    });
  });
}
