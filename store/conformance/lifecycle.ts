import assert from "node:assert/strict";
import { decodeOffsetOf, type SegmentStatus } from "../../pkg/api/internal/index.js";
import type { Store } from "../types.js";
import type { StoreSuiteContext } from "./context.js";
import { bytes, clockAt, collect, expectCommitOrder, failure, matches, payloads, records, sequences } from "./support.js";

/** Delete, truncate, close and retention (docs/lifecycle.md), on backends that declare `lifecycle`. */
export function describeLifecycleConformance(context: StoreSuiteContext): void {
  const { describe, it, itIf, describeIf } = context.suite;
  describeIf(context.features.lifecycle === true)("lifecycle", () => {
    const segment = async (store: Store, range: { minSequence?: number } = {}): Promise<number[]> =>
      sequences(await collect(store.readSegment({ space: "s", segment: "g", ...range })));

    /** Segment g of space s: 1..10, sequence n at timestamp 1000·n; segment h: 1..2 in between. */
    async function fill(store: Store): Promise<void> {
      clockAt(0);
      for (let n = 1; n <= 10; n++) {
        clockAt(1_000 * n);
        await store.produce("s", "g", records(n, n));
        if (n === 5) await store.produce("s", "h", records(1, 2));
      }
    }

    describe("truncateSegment", () => {
      it("removes the entries before a sequence; first sequence and timestamp move up", async () => {
        const store = context.store();
        await fill(store);
        const status = await store.truncateSegment("s", "g", 4);
        assert.deepStrictEqual(status, { space: "s", segment: "g", firstSequence: 4, firstTimestamp: 4_000, lastSequence: 10, lastTimestamp: 10_000 });
        assert.deepStrictEqual(await store.segmentStatus("s", "g"), status);
        assert.deepStrictEqual(await segment(store), [4, 5, 6, 7, 8, 9, 10]);
        assert.deepStrictEqual(await segment(store, { minSequence: 0 }), [4, 5, 6, 7, 8, 9, 10]);
        assert.deepStrictEqual(await segment(store, { minSequence: 6 }), [6, 7, 8, 9, 10]);
        assert.deepStrictEqual((await store.status()).spaces, [{ space: "s", segmentCount: 2, entryCount: 9, lastTimestamp: 10_000 }]);
        assert.strictEqual((await store.usage()).entries, 9);
        assert.strictEqual((await store.peek("s", "g"))?.sequence, 10);
      });

      it("fails a read starting inside the removed range with out_of_range naming the first kept sequence", async () => {
        const store = context.store();
        await fill(store);
        await store.truncateSegment("s", "g", 4);
        for (const minSequence of [1, 3]) {
          const error = await failure(() => store.readSegment({ space: "s", segment: "g", minSequence }));
          matches(error, { kind: "out_of_range", code: "permanent", details: { firstSequence: 4 } });
          const chunks = await failure(() => store.readSegmentChunks?.({ space: "s", segment: "g", minSequence }) ?? store.readSegment({ space: "s", segment: "g", minSequence }));
          assert.strictEqual(chunks.kind, "out_of_range");
        }
        assert.deepStrictEqual(await segment(store, { minSequence: 4 }), [4, 5, 6, 7, 8, 9, 10]);
      });

      it("removes the entries from space reads; resuming before the first kept entry is out_of_range with the first offset", async () => {
        const store = context.store();
        await fill(store);
        const before = await collect(store.readSpace({ space: "s" }));
        await store.truncateSegment("s", "g", 4);
        const space = await collect(store.readSpace({ space: "s" }));
        assert.deepStrictEqual(space.map((entry) => `${entry.segment}${entry.sequence}`), ["g4", "g5", "h1", "h2", "g6", "g7", "g8", "g9", "g10"]);
        expectCommitOrder(space.filter((entry) => entry.segment === "h"));
        const positionOf = (name: string, sequence: number): number =>
          (before.find((entry) => entry.segment === name && entry.sequence === sequence) as { position: number }).position;
        // Resuming after g1 (inside the removed range) fails, naming the offset that resumes at g4.
        const error = await failure(() => store.readSpace({ space: "s", afterPosition: positionOf("g", 1) }));
        matches(error, { kind: "out_of_range", code: "permanent" });
        const firstOffset = (error.details as { firstOffset: string }).firstOffset;
        const resumed = await collect(store.readSpace({ space: "s", afterPosition: decodeOffsetOf("space", firstOffset) }));
        assert.deepStrictEqual(resumed, space);
        // Resuming after the last removed entry, or after a kept one, is fine.
        assert.deepStrictEqual(await collect(store.readSpace({ space: "s", afterPosition: positionOf("g", 3) })), space);
        assert.deepStrictEqual((await collect(store.readSpace({ space: "s", afterPosition: positionOf("h", 1) }))).map((entry) => entry.sequence), [
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
        matches(failed, { kind: "out_of_range", details: { firstSequence: 590 } });
        assert.deepStrictEqual(seen, Array.from({ length: seen.length }, (_, i) => i + 1));
        const rest = await collect({ [Symbol.asyncIterator]: () => spaceReader });
        const spaceSequences = [spaceFirst.done === true ? 0 : spaceFirst.value.sequence, ...sequences(rest)];
        // Whatever the space read had fetched before the truncation, it then goes on at 590 with no disorder.
        assert.deepStrictEqual(spaceSequences.slice(-11), Array.from({ length: 11 }, (_, i) => 590 + i));
        assert.deepStrictEqual(spaceSequences, [...spaceSequences].sort((a, b) => a - b));
      });

      it("clamps to the head, is a no-op below the first kept sequence, and never reuses a sequence", async () => {
        const store = context.store();
        await fill(store);
        await store.truncateSegment("s", "g", 6);
        assert.strictEqual((await store.truncateSegment("s", "g", 3)).firstSequence, 6);
        const emptied = await store.truncateSegment("s", "g", 1_000);
        matches(emptied, { firstSequence: 11, lastSequence: 10, lastTimestamp: 10_000 });
        assert.deepStrictEqual(await segment(store), []);
        assert.deepStrictEqual(await store.listSegments("s"), ["g", "h"]);
        assert.deepStrictEqual((await failure(() => store.produce("s", "g", records(1, 1)))).details, { expected: 11, actual: 1 });
        clockAt(20_000);
        matches(await store.produce("s", "g", records(11, 12)), { firstSequence: 11, firstTimestamp: 20_000, lastSequence: 12 });
        assert.deepStrictEqual(await segment(store), [11, 12]);
        assert.strictEqual((await store.publish("s", "g", bytes("p"))).lastSequence, 13);
      });

      it("refuses a missing segment with not_found and bad sequences with invalid_argument", async () => {
        const store = context.store();
        await fill(store);
        assert.strictEqual((await failure(() => store.truncateSegment("s", "missing", 2))).kind, "not_found");
        for (const bad of [0, -1, 1.5, "2"]) {
          assert.strictEqual((await failure(() => store.truncateSegment("s", "g", bad as number))).kind, "invalid_argument");
        }
        assert.strictEqual((await failure(() => store.truncateSegment("*", "g", 2))).kind, "invalid_argument");
      });
    });

    describe("deleteSegment and deleteSpace", () => {
      it("deletes a segment: gone from reads and listings, its tombstone keeps the sequences", async () => {
        const store = context.store();
        await fill(store);
        const tombstone = await store.deleteSegment("s", "g");
        assert.deepStrictEqual(tombstone, { space: "s", segment: "g", firstSequence: 11, firstTimestamp: 10_000, lastSequence: 10, lastTimestamp: 10_000, deleted: true });
        assert.deepStrictEqual(await store.listSegments("s"), ["h"]);
        assert.deepStrictEqual((await store.segmentStatuses("s")).map((status) => status.segment), ["h"]);
        assert.deepStrictEqual(await store.segmentStatus("s", "g"), tombstone);
        assert.deepStrictEqual(await segment(store), []);
        assert.deepStrictEqual((await failure(() => store.readSegment({ space: "s", segment: "g", minSequence: 5 }))).details, { firstSequence: 11 });
        assert.deepStrictEqual((await collect(store.readSpace({ space: "s" }))).map((entry) => entry.segment), ["h", "h"]);
        assert.deepStrictEqual((await store.status()).spaces, [{ space: "s", segmentCount: 1, entryCount: 2, lastTimestamp: 10_000 }]);
        // Idempotent; a segment that never existed is not_found.
        assert.deepStrictEqual(await store.deleteSegment("s", "g"), tombstone);
        assert.strictEqual((await failure(() => store.deleteSegment("s", "never"))).kind, "not_found");
        assert.strictEqual((await failure(() => store.truncateSegment("s", "g", 12))).kind, "not_found");
        // A later produce continues after the old head and brings the segment back.
        assert.deepStrictEqual((await failure(() => store.produce("s", "g", records(1, 1)))).details, { expected: 11, actual: 1 });
        clockAt(30_000);
        const revived = await store.produce("s", "g", records(11, 11, "new"));
        assert.deepStrictEqual(revived, { space: "s", segment: "g", firstSequence: 11, firstTimestamp: 30_000, lastSequence: 11, lastTimestamp: 30_000 });
        assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["new-11"]);
        assert.deepStrictEqual(await store.listSegments("s"), ["g", "h"]);
      });

      it("deletes a space: every segment tombstoned, the space unlisted, positions and sequences go on", async () => {
        const store = context.store();
        await fill(store);
        await store.produce("t", "x", records(1, 1));
        const tombstones = await store.deleteSpace("s");
        assert.deepStrictEqual(tombstones.map((status) => [status.segment, status.lastSequence, status.deleted]), [
          ["g", 10, true],
          ["h", 2, true],
        ]);
        assert.deepStrictEqual(await store.listSpaces(), ["t"]);
        assert.deepStrictEqual(await store.listSegments("s"), []);
        assert.deepStrictEqual(await collect(store.readSpace({ space: "s" })), []);
        assert.deepStrictEqual((await store.status()).spaces.map((space) => space.space), ["t"]);
        assert.strictEqual((await failure(() => store.deleteSpace("s"))).kind, "not_found");
        assert.strictEqual((await failure(() => store.deleteSpace("never"))).kind, "not_found");
        const old = await collect(store.readSpace({ space: "t" }));
        await store.produce("s", "h", records(3, 3));
        const space = await collect(store.readSpace({ space: "s" }));
        assert.deepStrictEqual(space.map((entry) => entry.sequence), [3]);
        assert.strictEqual(space[0]?.position, 13);
        assert.deepStrictEqual(await collect(store.readSpace({ space: "t" })), old);
      });

      it("purges a segment on request: the tombstone goes too and its sequences start at 1 again", async () => {
        const store = context.store();
        await fill(store);
        const purged = await store.deleteSegment("s", "g", { purge: true });
        matches(purged, { space: "s", segment: "g", lastSequence: 10, deleted: true });
        assert.strictEqual(await store.segmentStatus("s", "g"), undefined);
        assert.deepStrictEqual(await store.listSegments("s"), ["h"]);
        assert.deepStrictEqual(await segment(store), []);
        assert.deepStrictEqual(await segment(store, { minSequence: 5 }), []);
        assert.deepStrictEqual((await collect(store.readSpace({ space: "s" }))).map((entry) => entry.segment), ["h", "h"]);
        assert.strictEqual((await store.usage()).entries, 2);
        assert.strictEqual((await failure(() => store.deleteSegment("s", "g"))).kind, "not_found");
        assert.strictEqual((await failure(() => store.deleteSegment("s", "g", { purge: true }))).kind, "not_found");
        clockAt(40_000);
        assert.deepStrictEqual(await store.produce("s", "g", records(1, 2, "new")), {
          space: "s",
          segment: "g",
          firstSequence: 1,
          firstTimestamp: 40_000,
          lastSequence: 2,
          lastTimestamp: 40_000,
        });
        assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["new-1", "new-2"]);
        const space = await collect(store.readSpace({ space: "s" }));
        assert.deepStrictEqual(
          space.map((entry) => `${entry.segment}${entry.sequence}`),
          ["h1", "h2", "g1", "g2"],
        );
        // Positions of the space go on: the new entries come after every earlier one.
        assert.strictEqual(space[2]?.position, 13);
        // A tombstone can be purged later; a space purge takes its tombstones too.
        await store.deleteSegment("s", "h");
        const statuses = await store.deleteSpace("s", { purge: true });
        assert.deepStrictEqual(
          statuses.map((status) => [status.segment, status.lastSequence, status.deleted]),
          [
            ["g", 2, true],
            ["h", 2, true],
          ],
        );
        assert.strictEqual(await store.segmentStatus("s", "h"), undefined);
        assert.deepStrictEqual(await store.listSpaces(), []);
        assert.strictEqual((await store.publish("s", "h", bytes("again"))).lastSequence, 1);
        assert.strictEqual((await failure(() => store.deleteSegment("s", "h", { purge: "yes" } as never))).kind, "invalid_argument");
        assert.strictEqual((await failure(() => store.deleteSpace("s", null as never))).kind, "invalid_argument");
      });

      itIf(context.features.reopen)("keeps a purge across reopen", async () => {
        const first = context.store();
        await fill(first);
        await first.deleteSegment("s", "g", { purge: true });
        await first.produce("s", "g", records(1, 1, "new"));
        const store = await context.reopen(first);
        matches(await store.segmentStatus("s", "g"), { firstSequence: 1, lastSequence: 1 });
        assert.deepStrictEqual(payloads(await collect(store.readSegment({ space: "s", segment: "g" }))), ["new-1"]);
        assert.deepStrictEqual(
          (await collect(store.readSpace({ space: "s" }))).map((entry) => `${entry.segment}${entry.sequence}`),
          ["h1", "h2", "g1"],
        );
      });

      it("deletes the store: closed now, empty when opened again", async () => {
        const store = context.store();
        await fill(store);
        await store.acquireLease("k", "a", 60_000);
        await store.setRetention("s", { maxEntriesPerSegment: 5 });
        await store.deleteStore();
        assert.strictEqual((await failure(() => store.status())).kind, "unavailable");
        const again = await context.open(store.storeId);
        assert.deepStrictEqual(await again.listSpaces(), []);
        assert.deepStrictEqual(await again.getRetention("s"), {});
        assert.strictEqual((await again.acquireLease("k", "b", 60_000)).ok, true);
        assert.strictEqual((await again.produce("s", "g", records(1, 1))).lastSequence, 1);
      });
    });

    describe("closeSegment", () => {
      it("refuses produce and publish with failed_precondition; reads and status go on", async () => {
        const store = context.store();
        await fill(store);
        const closed = await store.closeSegment("s", "g");
        matches(closed, { firstSequence: 1, lastSequence: 10, closed: true });
        assert.deepStrictEqual(await store.closeSegment("s", "g"), closed);
        for (const write of [() => store.produce("s", "g", records(11, 11)), () => store.publish("s", "g", bytes("p"))]) {
          const error = await failure(write);
          matches(error, { kind: "failed_precondition", code: "permanent" });
        }
        assert.deepStrictEqual(await store.segmentStatus("s", "g"), closed);
        assert.deepStrictEqual(await segment(store), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.strictEqual((await store.produce("s", "h", records(3, 3))).lastSequence, 3);
        assert.strictEqual((await failure(() => store.closeSegment("s", "never"))).kind, "not_found");
        // Truncation still applies to a closed segment.
        matches(await store.truncateSegment("s", "g", 9), { firstSequence: 9, closed: true });
      });
    });

    describe("retention", () => {
      it("sets, replaces and removes a space's retention; refuses bad ones", async () => {
        const store = context.store();
        assert.deepStrictEqual(await store.getRetention("s"), {});
        await store.setRetention("s", { maxAgeMs: 60_000, maxEntriesPerSegment: 0 });
        assert.deepStrictEqual(await store.getRetention("s"), { maxAgeMs: 60_000 });
        await store.setRetention("s", { maxBytesPerSegment: 100 });
        assert.deepStrictEqual(await store.getRetention("s"), { maxBytesPerSegment: 100 });
        await store.setRetention("s", {});
        assert.deepStrictEqual(await store.getRetention("s"), {});
        for (const bad of [{ maxAgeMs: -1 }, { maxAgeMs: 1.5 }, { other: 1 }, null, "x"]) {
          assert.strictEqual((await failure(() => store.setRetention("s", bad as never))).kind, "invalid_argument");
        }
      });

      it("enforces each bound on every segment of the space, and nothing elsewhere", async () => {
        const store = context.store();
        await fill(store);
        await store.produce("t", "g", records(1, 10));
        await store.setRetention("s", { maxEntriesPerSegment: 4 });
        assert.deepStrictEqual(await store.enforceRetention({ now: 10_000 }), { segments: 1, entries: 6 });
        assert.deepStrictEqual(await segment(store), [7, 8, 9, 10]);
        assert.strictEqual((await store.segmentStatus("s", "h"))?.firstSequence, 1);
        await store.setRetention("s", { maxAgeMs: 2_500 });
        // At 11,000 entries older than 8,500 go: g7 and g8.
        assert.deepStrictEqual(await store.enforceRetention({ now: 11_000 }), { segments: 2, entries: 4 });
        assert.deepStrictEqual(await segment(store), [9, 10]);
        assert.deepStrictEqual(await store.listSegments("s"), ["g", "h"]);
        assert.strictEqual((await store.segmentStatus("s", "h"))?.firstSequence, 3);
        // Payloads are "r-9", "r-10": 3 and 4 bytes.
        await store.setRetention("s", { maxBytesPerSegment: 5 });
        assert.deepStrictEqual(await store.enforceRetention({ now: 11_000 }), { segments: 1, entries: 1 });
        assert.deepStrictEqual(await segment(store), [10]);
        assert.strictEqual((await store.enforceRetention({ now: 11_000 })).segments, 0);
        assert.strictEqual((await store.segmentStatus("t", "g"))?.firstSequence, 1);
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
        assert.deepStrictEqual(statuses.filter((status) => status.segment === "g").map((status) => status.lastSequence), 
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        assert.strictEqual(sweeps, 20);
        await store.enforceRetention();
        assert.deepStrictEqual(await segment(store), Array.from({ length: 50 }, (_, i) => 151 + i));
        const space = await collect(store.readSpace({ space: "s" }));
        assert.deepStrictEqual(space.filter((entry) => entry.segment === "g").map((entry) => entry.sequence), Array.from({ length: 50 }, (_, i) => 151 + i));
        assert.deepStrictEqual(space.filter((entry) => entry.segment === "p").map((entry) => entry.sequence), Array.from({ length: 50 }, (_, i) => 71 + i));
      });
    });

    itIf(context.features.reopen)("keeps truncations, tombstones, closed segments and retention across reopen", async () => {
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
      assert.deepStrictEqual(await store.segmentStatuses("s"), statuses);
      matches(await store.segmentStatus("s", "h"), { lastSequence: 2, deleted: true });
      assert.deepStrictEqual(await collect(store.readSpace({ space: "s" })), space);
      assert.deepStrictEqual(await segment(store), [4, 5, 6, 7, 8, 9, 10]);
      assert.deepStrictEqual((await failure(() => store.readSegment({ space: "s", segment: "g", minSequence: 2 }))).details, { firstSequence: 4 });
      assert.strictEqual((await failure(() => store.produce("s", "x", records(4, 4)))).kind, "failed_precondition");
      assert.deepStrictEqual((await failure(() => store.produce("s", "h", records(1, 1)))).details, { expected: 3, actual: 1 });
      assert.deepStrictEqual(await store.getRetention("s"), { maxAgeMs: 1_000 });
    });
  });
}
