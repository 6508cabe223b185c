import assert from "node:assert/strict";
import type { SegmentRange, SpaceRange, Store, StoredEntry } from "../types.js";
import type { StoreSuiteContext } from "./context.js";
import { bytes, clockAt, collect, expectCommitOrder, matches, payloads, records, sequences, text } from "./support.js";

/** Segment reads, space reads and peek, on the test's fresh store. */
export function describeReadConformance(context: StoreSuiteContext): void {
  const { describe, it, beforeEach } = context.suite;
  let store: Store;
  beforeEach(() => {
    store = context.store();
  });

  describe("segment reads", () => {
    /** Segment g of space s: sequences 1..10, sequence n at timestamp 1000 + 100·⌈n/2⌉ (two per batch). */
    async function fill(): Promise<void> {
      clockAt(0);
      for (let n = 1; n <= 10; n += 2) {
        clockAt(1_000 + 100 * Math.ceil(n / 2));
        await store.produce("s", "g", records(n, n + 1));
      }
      await store.produce("s", "other", records(1, 3));
    }

    const read = async (range: Partial<SegmentRange>): Promise<number[]> =>
      sequences(await collect(store.readSegment({ space: "s", segment: "g", ...range })));

    it("reads everything in sequence order when unbounded or bounded by zeros", async () => {
      await fill();
      const all = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      assert.deepStrictEqual(await read({}), all);
      assert.deepStrictEqual(await read({ minSequence: 0, maxSequence: 0, minTimestamp: 0, maxTimestamp: 0, limit: 0 }), all);
    });

    it("honours inclusive sequence bounds", async () => {
      await fill();
      assert.deepStrictEqual(await read({ minSequence: 4 }), [4, 5, 6, 7, 8, 9, 10]);
      assert.deepStrictEqual(await read({ maxSequence: 3 }), [1, 2, 3]);
      assert.deepStrictEqual(await read({ minSequence: 4, maxSequence: 7 }), [4, 5, 6, 7]);
      assert.deepStrictEqual(await read({ minSequence: 6, maxSequence: 6 }), [6]);
      assert.deepStrictEqual(await read({ minSequence: 10 }), [10]);
      assert.deepStrictEqual(await read({ minSequence: 11 }), []);
      assert.deepStrictEqual(await read({ maxSequence: 100 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it("honours inclusive timestamp bounds", async () => {
      await fill();
      assert.deepStrictEqual(await read({ minTimestamp: 1_300 }), [5, 6, 7, 8, 9, 10]);
      assert.deepStrictEqual(await read({ maxTimestamp: 1_200 }), [1, 2, 3, 4]);
      assert.deepStrictEqual(await read({ minTimestamp: 1_150, maxTimestamp: 1_350 }), [3, 4, 5, 6]);
      assert.deepStrictEqual(await read({ minTimestamp: 1_400, maxTimestamp: 1_400 }), [7, 8]);
      assert.deepStrictEqual(await read({ minTimestamp: 1_501 }), []);
      assert.deepStrictEqual(await read({ minTimestamp: 1_200, minSequence: 2, maxSequence: 7 }), [3, 4, 5, 6, 7]);
    });

    it("honours limit, alone and with other bounds", async () => {
      await fill();
      assert.deepStrictEqual(await read({ limit: 3 }), [1, 2, 3]);
      assert.deepStrictEqual(await read({ limit: 1 }), [1]);
      assert.deepStrictEqual(await read({ limit: 100 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepStrictEqual(await read({ minSequence: 4, limit: 2 }), [4, 5]);
      assert.deepStrictEqual(await read({ minTimestamp: 1_300, limit: 3 }), [5, 6, 7]);
      assert.deepStrictEqual(await read({ minSequence: 9, maxSequence: 9, limit: 5 }), [9]);
    });

    it("reads the same entries in chunks as one at a time, where the store reads in chunks", async () => {
      await fill();
      if (store.readSegmentChunks === undefined || store.readSpaceChunks === undefined) return; // optional methods
      const segmentRanges: Partial<SegmentRange>[] = [{}, { minSequence: 4, maxSequence: 7 }, { minTimestamp: 1_300, limit: 3 }, { maxTimestamp: 1_200 }, { minSequence: 11 }];
      for (const range of segmentRanges) {
        const full = { space: "s", segment: "g", ...range };
        const chunks: StoredEntry[][] = await collect(store.readSegmentChunks(full));
        assert.ok(chunks.every((chunk) => chunk.length > 0));
        assert.deepStrictEqual(chunks.flat(), await collect(store.readSegment(full)));
      }
      const spaceRanges: Partial<SpaceRange>[] = [{}, { afterPosition: 3 }, { minTimestamp: 1_300, limit: 2 }, { maxTimestamp: 1_100 }];
      for (const range of spaceRanges) {
        const full = { space: "s", ...range };
        const chunks: StoredEntry[][] = await collect(store.readSpaceChunks(full));
        assert.ok(chunks.every((chunk) => chunk.length > 0));
        assert.deepStrictEqual(chunks.flat(), await collect(store.readSpace(full)));
      }
    });

    it("reads nothing for inverted ranges", async () => {
      await fill();
      assert.deepStrictEqual(await read({ minSequence: 5, maxSequence: 4 }), []);
      assert.deepStrictEqual(await read({ minTimestamp: 1_400, maxTimestamp: 1_300 }), []);
    });

    it("reads a missing segment or space as empty", async () => {
      await fill();
      assert.deepStrictEqual(await read({ segment: "missing" }), []);
      assert.deepStrictEqual(await read({ space: "missing" }), []);
    });

    it("carries each entry's space, segment, timestamp and position", async () => {
      await fill();
      const entries = await collect(store.readSegment({ space: "s", segment: "g", minSequence: 3, maxSequence: 4 }));
      assert.deepStrictEqual(entries.map(({ space, segment, sequence, timestamp }) => ({ space, segment, sequence, timestamp })), [
        { space: "s", segment: "g", sequence: 3, timestamp: 1_200 },
        { space: "s", segment: "g", sequence: 4, timestamp: 1_200 },
      ]);
      const fromSpace = (await collect(store.readSpace({ space: "s" }))).filter((entry) => entry.segment === "g");
      assert.deepStrictEqual(entries.map((entry) => entry.position), [fromSpace[2]?.position, fromSpace[3]?.position]);
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
      assert.strictEqual(entries.length, 36);
      expectCommitOrder(entries);
      assert.deepStrictEqual(new Set(entries.map((entry) => entry.space)), new Set(["s"]));
    });

    it("reads batches in the order they were committed", async () => {
      await store.produce("s", "x", records(1, 1));
      await store.produce("s", "y", records(1, 2));
      await store.produce("s", "x", records(2, 2));
      const entries = await collect(store.readSpace({ space: "s" }));
      assert.deepStrictEqual(entries.map((entry) => `${entry.segment}${entry.sequence}`), ["x1", "y1", "y2", "x2"]);
    });

    it("resumes after any entry's position with exactly the entries after it", async () => {
      await fill();
      const entries = await collect(store.readSpace({ space: "s" }));
      for (let i = 0; i < entries.length; i++) {
        const rest = await collect(store.readSpace({ space: "s", afterPosition: (entries[i] as StoredEntry).position }));
        assert.deepStrictEqual(rest, entries.slice(i + 1));
      }
      assert.deepStrictEqual(await collect(store.readSpace({ space: "s", afterPosition: 0 })), entries);
    });

    it("honours limit and timestamp bounds", async () => {
      clockAt(5_000);
      await store.produce("s", "a", records(1, 2));
      clockAt(6_000);
      await store.produce("s", "b", records(1, 2));
      clockAt(7_000);
      await store.produce("s", "a", records(3, 3));
      const read = async (range: Partial<SpaceRange>): Promise<string[]> =>
        (await collect(store.readSpace({ space: "s", ...range }))).map((entry) => `${entry.segment}${entry.sequence}`);
      assert.deepStrictEqual(await read({ limit: 3 }), ["a1", "a2", "b1"]);
      assert.deepStrictEqual(await read({ minTimestamp: 6_000 }), ["b1", "b2", "a3"]);
      assert.deepStrictEqual(await read({ maxTimestamp: 6_000 }), ["a1", "a2", "b1", "b2"]);
      assert.deepStrictEqual(await read({ minTimestamp: 6_000, maxTimestamp: 6_000 }), ["b1", "b2"]);
      assert.deepStrictEqual(await read({ minTimestamp: 5_500, limit: 1 }), ["b1"]);
      assert.deepStrictEqual(await read({ minTimestamp: 7_000, maxTimestamp: 6_000 }), []);
      assert.deepStrictEqual(await read({ minTimestamp: 7_001 }), []);
      const all = await collect(store.readSpace({ space: "s" }));
      assert.deepStrictEqual(await read({ afterPosition: (all[1] as StoredEntry).position, limit: 2 }), ["b1", "b2"]);
    });

    it("keeps timestamps non-decreasing when the clock goes back", async () => {
      clockAt(10_000);
      await store.produce("s", "a", records(1, 1));
      clockAt(9_000);
      const status = await store.produce("s", "b", records(1, 1));
      assert.strictEqual(status.lastTimestamp, 10_000);
      const entries = await collect(store.readSpace({ space: "s" }));
      assert.deepStrictEqual(entries.map((entry) => entry.timestamp), [10_000, 10_000]);
    });

    it("keeps spaces apart, including names that prefix one another", async () => {
      for (const space of ["x", "xy", "x y"]) {
        for (const segment of ["g", "gh", "g h"]) await store.produce(space, segment, records(1, 2, `${space}/${segment}`));
      }
      for (const space of ["x", "xy", "x y"]) {
        const entries = await collect(store.readSpace({ space }));
        assert.strictEqual(entries.length, 6);
        assert.deepStrictEqual(new Set(entries.map((entry) => entry.space)), new Set([space]));
        assert.strictEqual(entries[0]?.position, entries.at(-1)!.position - 5);
        for (const segment of ["g", "gh", "g h"]) {
          const ofSegment = await collect(store.readSegment({ space, segment }));
          assert.deepStrictEqual(payloads(ofSegment), [`${space}/${segment}-1`, `${space}/${segment}-2`]);
        }
        assert.deepStrictEqual(await store.listSegments(space), ["g", "g h", "gh"]);
      }
      assert.deepStrictEqual(await collect(store.readSpace({ space: "missing" })), []);
    });
  });

  describe("peek", () => {
    it("gives undefined for an empty segment", async () => {
      assert.strictEqual(await store.peek("s", "g"), undefined);
    });

    it("gives the latest entry", async () => {
      await store.produce("s", "g", records(1, 3));
      await store.produce("s", "g", [{ sequence: 4, payload: bytes("last"), metadata: { m: "1" } }]);
      await store.produce("s", "h", records(1, 1));
      const latest = await store.peek("s", "g");
      const [fromRead] = await collect(store.readSegment({ space: "s", segment: "g", minSequence: 4 }));
      assert.deepStrictEqual(latest, fromRead);
      matches(latest, { space: "s", segment: "g", sequence: 4, metadata: { m: "1" } });
      assert.strictEqual(text(latest?.payload ?? new Uint8Array()), "last");
    });
  });

}
