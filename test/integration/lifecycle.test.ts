import { describe, expect, it } from "vitest";
import { type SegmentStatus, StreamsError } from "../../pkg/client/index.js";
import { bytes, collect, failureOf, records, useHarness } from "../support/data.js";
import { lifecycleConfigurations as configurations } from "../support/matrix.js";
import { bounded, Conditions } from "../support/waits.js";

describe.each(configurations)("data lifecycle over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("truncates: reads from the start begin at the first kept entry, reads inside the removed range are out_of_range", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 10));
    await client.produce(storeId, "s", "h", records(1, 2));
    const before = await collect(client.consumeSpace(storeId, { space: "s" }));
    const status = await client.truncateSegment(storeId, "s", "g", 6);
    expect(status).toMatchObject({ firstSequence: 6, lastSequence: 10 });
    expect((await client.getStatus(storeId)).spaces[0]?.entryCount).toBe(7);
    expect((await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }))).map((e) => e.sequence)).toEqual([6, 7, 8, 9, 10]);
    const segmentError = await failureOf(() => collect(client.consumeSegment(storeId, { space: "s", segment: "g", minSequence: 3 })));
    expect(segmentError).toBeInstanceOf(StreamsError);
    expect(segmentError).toMatchObject({ kind: "out_of_range", code: "permanent", details: { firstSequence: 6 } });
    // An offset from before the truncation resumes inside the removed range.
    const offsetError = await failureOf(() => collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset: "s2" })));
    expect(offsetError).toMatchObject({ kind: "out_of_range", details: { firstSequence: 6 } });
    const spaceError = (await failureOf(() => collect(client.consumeSpace(storeId, { space: "s", offset: before[0]?.offset ?? "" })))) as StreamsError;
    expect(spaceError).toMatchObject({ kind: "out_of_range" });
    const firstOffset = (spaceError.details as { firstOffset: string }).firstOffset;
    const resumed = await collect(client.consumeSpace(storeId, { space: "s", offset: firstOffset }));
    expect(resumed.map((e) => `${e.segment}${e.sequence}`)).toEqual(["g6", "g7", "g8", "g9", "g10", "h1", "h2"]);
  });

  it("deletes a segment, a space and a store; sequences go on after a deleted segment's head", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3));
    await client.produce(storeId, "s", "h", records(1, 1));
    await client.produce(storeId, "t", "x", records(1, 1));
    expect(await client.deleteSegment(storeId, "s", "g")).toMatchObject({ lastSequence: 3, firstSequence: 4, deleted: true });
    expect(await client.getSegments(storeId, "s")).toEqual(["h"]);
    expect(await failureOf(() => client.produce(storeId, "s", "g", records(1, 1)))).toMatchObject({ kind: "sequence_conflict", details: { expected: 4 } });
    expect((await client.publish(storeId, "s", "g", bytes("again"))).lastSequence).toBe(4);
    expect(await failureOf(() => client.deleteSegment(storeId, "s", "never"))).toMatchObject({ kind: "not_found" });
    const tombstones = await client.deleteSpace(storeId, "s");
    expect(tombstones.map((t: SegmentStatus) => [t.segment, t.deleted])).toEqual([
      ["g", true],
      ["h", true],
    ]);
    expect(await client.getSpaces(storeId)).toEqual(["t"]);
    await client.deleteStore(storeId);
    expect(await client.getSpaces(storeId)).toEqual([]);
    expect((await client.publish(storeId, "t", "x", bytes("fresh"))).lastSequence).toBe(1);
  });

  it("closes a segment: writes fail with failed_precondition and a follow reader ends after the last entry", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3));
    const seen: number[] = [];
    const following = (async () => {
      for await (const entry of client.consumeSegment(storeId, { space: "s", segment: "g", follow: true })) seen.push(entry.sequence);
    })();
    await client.produce(storeId, "s", "g", records(4, 2));
    expect(await client.closeSegment(storeId, "s", "g")).toMatchObject({ lastSequence: 5, closed: true });
    await bounded(following, "the follow reader to end");
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(await failureOf(() => client.publish(storeId, "s", "g", bytes("late")))).toMatchObject({ kind: "failed_precondition", code: "permanent" });
    expect(await failureOf(() => client.produce(storeId, "s", "g", records(6, 1)))).toMatchObject({ kind: "failed_precondition" });
    // A follow read of a closed segment ends once it has read everything.
    expect((await collect(client.consumeSegment(storeId, { space: "s", segment: "g", minSequence: 4, follow: true }))).length).toBe(2);
  });

  it("tells status subscribers of truncation, closing and deletion", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 4));
    const statuses: SegmentStatus[] = [];
    const conditions = new Conditions();
    const subscription = await client.subscribeToSegment(storeId, "s", "g", (status) => {
      statuses.push(status);
      conditions.check();
    });
    try {
      await conditions.until(() => statuses.length >= 1, "the snapshot");
      await client.truncateSegment(storeId, "s", "g", 3);
      await conditions.until(() => statuses.some((s) => s.firstSequence === 3), "the truncated head");
      await client.closeSegment(storeId, "s", "g");
      await conditions.until(() => statuses.some((s) => s.closed === true), "the closed head");
      await client.deleteSegment(storeId, "s", "g");
      await conditions.until(() => statuses.some((s) => s.deleted === true), "the tombstone");
      expect(statuses.at(-1)).toMatchObject({ firstSequence: 5, lastSequence: 4, deleted: true });
    } finally {
      await subscription.unsubscribe();
    }
  });

  it("purges a segment on request: subscribers see the tombstone, then the segment written again from 1", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 4));
    await client.produce(storeId, "s", "h", records(1, 1));
    const statuses: SegmentStatus[] = [];
    const conditions = new Conditions();
    const subscription = await client.subscribeToSegment(storeId, "s", "g", (status) => {
      statuses.push(status);
      conditions.check();
    });
    try {
      await conditions.until(() => statuses.length >= 1, "the snapshot");
      expect(await client.deleteSegment(storeId, "s", "g", { purge: true })).toMatchObject({ lastSequence: 4, deleted: true });
      await conditions.until(() => statuses.some((s) => s.deleted === true), "the tombstone");
      expect(await client.getSegments(storeId, "s")).toEqual(["h"]);
      await client.produce(storeId, "s", "g", records(1, 2));
      await conditions.until(() => statuses.at(-1)?.lastSequence === 2 && statuses.at(-1)?.deleted !== true, "the head written again");
      expect((await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }))).map((e) => e.sequence)).toEqual([1, 2]);
      // A space purge forgets tombstones too; a bad purge option is refused before anything is sent.
      await client.deleteSegment(storeId, "s", "h");
      expect((await client.deleteSpace(storeId, "s", { purge: true })).map((t: SegmentStatus) => t.segment)).toEqual(["g", "h"]);
      expect((await client.publish(storeId, "s", "h", bytes("again"))).lastSequence).toBe(1);
      await expect(client.deleteSegment(storeId, "s", "h", { purge: "yes" as never })).rejects.toThrow(TypeError);
    } finally {
      await subscription.unsubscribe();
    }
  });

  it("sets and gets retention; bad values are invalid_argument", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    expect(await client.getRetention(storeId, "s")).toEqual({});
    expect(await client.setRetention(storeId, "s", { maxEntriesPerSegment: 10, maxAgeMs: 0 })).toEqual({ maxEntriesPerSegment: 10 });
    expect(await client.getRetention(storeId, "s")).toEqual({ maxEntriesPerSegment: 10 });
    expect(await failureOf(() => client.setRetention(storeId, "s", { maxAgeMs: -5 }))).toMatchObject({ kind: "invalid_argument" });
    await expect(client.truncateSegment(storeId, "s", "g", "3" as unknown as number)).rejects.toBeInstanceOf(TypeError);
    const aborted = AbortSignal.abort("stop");
    expect(await failureOf(() => client.deleteSegment(storeId, "s", "g", { signal: aborted }))).toMatchObject({ kind: "cancelled" });
  });

  it("fails a follow reader that falls into a removed range while catching up, after a contiguous prefix", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const payload = new Uint8Array(4096);
    const total = 5_000;
    await client.produce(
      storeId,
      "s",
      "g",
      Array.from({ length: total }, (_, i) => ({ sequence: i + 1, payload })),
    );
    const seen: number[] = [];
    let failure: unknown;
    const reader = client.consumeSegment(storeId, { space: "s", segment: "g", follow: true });
    try {
      for await (const entry of reader) {
        seen.push(entry.sequence);
        // Trim far ahead of the reader while it is still catching up.
        if (seen.length === 1) await client.truncateSegment(storeId, "s", "g", total - 10);
      }
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ kind: "out_of_range", details: { firstSequence: total - 10 } });
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(seen.length).toBeLessThan(total - 10);
  });

  /** A follow of `segment` (or of the space when undefined) that records its entries; `ended` settles with how it ended. */
  function follower(client: ReturnType<typeof harness>["client"], storeId: string, space: string, segment: string | undefined, offset?: string) {
    const seen: string[] = [];
    const conditions = new Conditions();
    const source =
      segment === undefined
        ? client.consumeSpace(storeId, { space, follow: true })
        : client.consumeSegment(storeId, { space, segment, follow: true, ...(offset === undefined ? {} : { offset }) });
    const ended = (async (): Promise<unknown> => {
      try {
        for await (const entry of source) {
          seen.push(`${entry.segment}${entry.sequence}`);
          conditions.check();
        }
        return "ended";
      } catch (error) {
        return error;
      }
    })();
    return { seen, ended, until: (count: number) => conditions.until(() => seen.length >= count, () => `${count} entries (have ${seen.join(",")})`) };
  }

  it("ends a segment follow with not_found when its segment is deleted or purged; a space follow goes on", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3));
    await client.produce(storeId, "s", "h", records(1, 2));
    const space = follower(client, storeId, "s", undefined);
    const deletedFollow = follower(client, storeId, "s", "g");
    const purgedFollow = follower(client, storeId, "s", "h");
    await Promise.all([space.until(5), deletedFollow.until(3), purgedFollow.until(2)]);

    await client.deleteSegment(storeId, "s", "g");
    expect(await bounded(deletedFollow.ended, "the follow of the deleted segment to end")).toMatchObject({ kind: "not_found", code: "permanent" });
    await client.deleteSegment(storeId, "s", "h", { purge: true });
    expect(await bounded(purgedFollow.ended, "the follow of the purged segment to end")).toMatchObject({ kind: "not_found", code: "permanent" });
    expect([deletedFollow.seen, purgedFollow.seen]).toEqual([
      ["g1", "g2", "g3"],
      ["h1", "h2"],
    ]);

    // Space positions go on: the space's follower takes what comes after, the purged segment's new entries included.
    await client.produce(storeId, "s", "h", records(1, 1));
    await client.publish(storeId, "s", "g", bytes("revived"));
    await space.until(7);
    expect(space.seen).toEqual(["g1", "g2", "g3", "h1", "h2", "h1", "g4"]);
  });

  it("ends a follow resumed inside a deleted segment with not_found, and one resumed in a purged one once it sees the purge", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3));
    const [, , last] = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    await client.deleteSegment(storeId, "s", "g");
    const resumed = follower(client, storeId, "s", "g", last?.offset);
    expect(await bounded(resumed.ended, "the resumed follow to end")).toMatchObject({ kind: "not_found" });

    // Written again after the tombstone, then purged and written again from 1: a follow that had taken
    // entries of the old life ends instead of skipping the new one's first entries.
    await client.produce(storeId, "s", "g", records(4, 2));
    const live = follower(client, storeId, "s", "g");
    await live.until(2);
    await client.deleteSegment(storeId, "s", "g", { purge: true });
    await client.produce(storeId, "s", "g", records(1, 7));
    expect(await bounded(live.ended, "the follow of the purged segment to end")).toMatchObject({ kind: "not_found" });
    expect(live.seen).toEqual(["g4", "g5"]);
  });
  it("ends a follow or read resumed from an offset of a segment purged since, even once written again past it", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 5));
    const offset = (await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }))).at(-1)?.offset ?? "";
    // The same life resumes after the offset's entry, a follow as well as a plain read.
    await client.produce(storeId, "s", "g", records(6, 1));
    expect((await collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset }))).map((e) => e.sequence)).toEqual([6]);
    const sameLife = follower(client, storeId, "s", "g", offset);
    await sameLife.until(1);
    expect(sameLife.seen).toEqual(["g6"]);

    // Purged and written again from 1 past the offset's sequence: entries 6..10 are not the ones after it.
    await client.deleteSegment(storeId, "s", "g", { purge: true });
    expect(await bounded(sameLife.ended, "the live follow of the purged segment to end")).toMatchObject({ kind: "not_found" });
    await client.produce(storeId, "s", "g", records(1, 10));
    const resumed = follower(client, storeId, "s", "g", offset);
    expect(await bounded(resumed.ended, "the resumed follow to end")).toMatchObject({ kind: "not_found", code: "permanent" });
    expect(resumed.seen).toEqual([]);
    expect(await failureOf(() => collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset })))).toMatchObject({ kind: "not_found" });
    // minSequence past the offset decides where the read starts: nothing to check.
    expect((await collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset, minSequence: 9 }))).map((e) => e.sequence)).toEqual([9, 10]);
    // An offset without a position (issued before offsets carried one) resumes by sequence, as it did.
    expect((await collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset: "s5" }))).map((e) => e.sequence)).toEqual([6, 7, 8, 9, 10]);

    // Purged again and written to fewer entries than the offset's sequence: not_found too, for a follow and a read.
    await client.deleteSegment(storeId, "s", "g", { purge: true });
    await client.produce(storeId, "s", "g", records(1, 2));
    const short = follower(client, storeId, "s", "g", offset);
    expect(await bounded(short.ended, "the follow resumed past the new head to end")).toMatchObject({ kind: "not_found" });
    expect(await failureOf(() => collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset })))).toMatchObject({ kind: "not_found" });
  });
});
