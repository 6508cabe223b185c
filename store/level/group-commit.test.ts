import { ClassicLevel } from "classic-level";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Record, StreamsError } from "../../pkg/api/index.js";
import { Heads } from "../heads.js";
import type { ProduceChain } from "../types.js";
import { GroupCommit, type LevelDb } from "./group-commit.js";
import { recoverStore } from "./recover.js";
import { decodeBatch, type StoredBatch } from "./values.js";

const records = (from: number, to: number): Record[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ sequence: from + i, payload: new Uint8Array([from + i]) }));

async function rejection(promise: Promise<unknown>): Promise<StreamsError> {
  try {
    await promise;
  } catch (error) {
    return error as StreamsError;
  }
  throw new Error("expected a rejection");
}

/** Every stored batch, by segment key order. */
async function storedBatches(db: LevelDb): Promise<StoredBatch[]> {
  const values = await db.values({ gte: Buffer.from([0x01]), lt: Buffer.from([0x02]) }).all();
  return values.map(decodeBatch);
}

describe("GroupCommit failures", () => {
  let dir: string;
  let db: LevelDb;

  const openDb = async (): Promise<LevelDb> => {
    const opened: LevelDb = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await opened.open();
    return opened;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-group-commit-"));
    db = await openDb();
  });

  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("rejects every batch of a failed write and rolls the heads back to what is on disk", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    const first = commits.commit("s", "a", records(1, 2));
    const second = commits.commit("s", "b", records(1, 1));
    // Closing the database under the queued group makes its write fail.
    const closed = db.close();
    expect((await rejection(first)).kind).toBe("unavailable");
    expect((await rejection(second)).kind).toBe("unavailable");
    await closed;
    expect(commits.committed.segmentHead("s", "a")).toBeUndefined();
    // The pending heads forgot the failed batches: sequence 1 is accepted again, not a conflict.
    expect((await rejection(commits.commit("s", "a", records(1, 1)))).kind).toBe("unavailable");
    db = await openDb();
    const recovered = (await recoverStore(db)).heads;
    expect(recovered.listSpaces()).toEqual([]);
    expect(await db.keys().all()).toEqual([]);
  });

  it("keeps the batches being written when a batch queued behind them fails", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    const writing = commits.commit("s", "a", records(1, 2));
    await new Promise((resolve) => setImmediate(resolve)); // the first group's write is now under way
    const refuse = (): never => {
      throw new Error("refused by test hook");
    };
    db.hooks.prewrite.add(refuse);
    const refused = commits.commit("s", "b", records(1, 1));
    expect((await rejection(refused)).kind).toBe("unavailable");
    db.hooks.prewrite.delete(refuse);
    expect((await writing).lastSequence).toBe(2);
    // The pending heads still hold the batch that was being written, and none of the refused one.
    expect((await commits.commit("s", "a", records(3, 3))).lastSequence).toBe(3);
    expect((await commits.commit("s", "b", records(1, 1))).lastSequence).toBe(1);
    const recovered = (await recoverStore(db)).heads;
    expect(recovered.segmentStatuses("s").map((status) => [status.segment, status.lastSequence])).toEqual([
      ["a", 3],
      ["b", 1],
    ]);
  });
});

describe("GroupCommit produce chains", () => {
  let dir: string;
  let db: LevelDb;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-group-commit-"));
    db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
    await db.open();
  });

  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("shares one write among the batches of a chain in flight", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    const groups = vi.spyOn(db, "batch");
    const chain: ProduceChain = {};
    const statuses = await Promise.all([1, 3, 5].map((from) => commits.commit("s", "a", records(from, from + 1), chain)));
    expect(statuses.map((status) => status.lastSequence)).toEqual([2, 4, 6]);
    expect(groups).toHaveBeenCalledTimes(1);
    expect(chain.failure).toBeUndefined();
  });

  it("writes the batches of one turn together, and those queued behind a write in the next", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    const groups = vi.spyOn(db, "batch");
    const published = Array.from({ length: 64 }, (_, i) => commits.publish("s", "a", new Uint8Array([i]), {}));
    await new Promise((resolve) => setImmediate(resolve)); // the first write is under way
    const behind = Array.from({ length: 10 }, (_, i) => commits.publish("s", "a", new Uint8Array([64 + i]), {}));
    const statuses = await Promise.all([...published, ...behind]);
    expect(statuses.map((status) => status.lastSequence)).toEqual(Array.from({ length: 74 }, (_, i) => i + 1));
    expect(groups).toHaveBeenCalledTimes(2);
    expect((await recoverStore(db)).heads.segmentHead("s", "a")?.lastSequence).toBe(74);
  });

  it("stores the publishes one group holds for one segment as one batch, with one timestamp and trx", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    // A produce between publishes ends their run; so does another segment.
    const calls = [
      commits.publish("s", "a", new Uint8Array([1]), {}),
      commits.publish("s", "a", new Uint8Array([2]), { k: "v" }),
      commits.commit("s", "b", records(1, 1)),
      commits.publish("s", "a", new Uint8Array([3]), {}),
      commits.publish("s", "a", new Uint8Array([4]), {}),
      commits.publish("s", "c", new Uint8Array([5]), {}),
    ];
    const statuses = await Promise.all(calls);
    expect(statuses.map((status) => [status.segment, status.lastSequence])).toEqual([
      ["a", 1],
      ["a", 2],
      ["b", 1],
      ["a", 3],
      ["a", 4],
      ["c", 1],
    ]);
    // Stored batches by segment: a holds runs [1,2] and [3,4], b and c one batch each.
    const stored = await storedBatches(db);
    expect(stored.map((batch) => [batch.segment, batch.firstSequence, batch.payloads.length])).toEqual([
      ["a", 1, 2],
      ["a", 3, 2],
      ["b", 1, 1],
      ["c", 1, 1],
    ]);
    expect(new Set(stored.map((batch) => batch.trx.id)).size).toBe(4);
    expect(stored.map((batch) => batch.trx.number)).toEqual([1, 3, 2, 4]);
    expect(stored[0]?.metadata).toEqual([{}, { k: "v" }]);
    expect(statuses[1]?.lastTimestamp).toBe(statuses[0]?.lastTimestamp);
    expect((await recoverStore(db)).heads.commitNumber).toBe(4);
  });

  it("ends a run at 256 publishes or 1 MiB of payload", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    await Promise.all(Array.from({ length: 300 }, (_, i) => commits.publish("s", "a", new Uint8Array([i]), {})));
    const big = new Uint8Array(400 * 1024);
    await Promise.all(Array.from({ length: 5 }, () => commits.publish("s", "b", big, {})));
    const stored = await storedBatches(db);
    expect(stored.map((batch) => [batch.segment, batch.payloads.length])).toEqual([
      ["a", 256],
      ["a", 44],
      ["b", 2],
      ["b", 2],
      ["b", 1],
    ]);
  });

  it("rolls a failed group of publishes back to what is on disk, runs and commit numbers alike", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    await Promise.all([1, 2].map((i) => commits.publish("s", "a", new Uint8Array([i]), {})));
    const refuse = (): never => {
      throw new Error("refused by test hook");
    };
    db.hooks.prewrite.add(refuse);
    const failed = [3, 4, 5].map((i) => commits.publish("s", "a", new Uint8Array([i]), {}));
    for (const publish of failed) expect((await rejection(publish)).kind).toBe("unavailable");
    db.hooks.prewrite.delete(refuse);
    const next = await Promise.all([3, 4].map((i) => commits.publish("s", "a", new Uint8Array([i]), {})));
    expect(next.map((status) => status.lastSequence)).toEqual([3, 4]);
    const stored = await storedBatches(db);
    expect(stored.map((batch) => [batch.firstSequence, batch.trx.number])).toEqual([
      [1, 1],
      [3, 2],
    ]);
  });

  it("refuses, unplaced, every batch of a chain after one that conflicts, even one that would fit", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    await commits.commit("s", "a", records(1, 2));
    const chain: ProduceChain = {};
    // A replay of 1..2 conflicts; 3..4 alone would fit the head, but follows the failed batch.
    const replay = commits.commit("s", "a", records(1, 2), chain);
    const next = commits.commit("s", "a", records(3, 4), chain);
    const conflict = await rejection(replay);
    expect(conflict.kind).toBe("sequence_conflict");
    expect(await rejection(next)).toBe(conflict);
    expect(chain.failure).toBe(conflict);
    // Nothing of the chain was placed: another producer continues at 3.
    expect((await commits.commit("s", "a", records(3, 3))).lastSequence).toBe(3);
  });

  it("refuses the rest of a chain whose batch failed to write", async () => {
    const commits = new GroupCommit(db, new Heads(), "node");
    const chain: ProduceChain = {};
    const first = commits.commit("s", "a", records(1, 2), chain);
    // Closing the database under the queued group makes its write fail.
    const closed = db.close();
    const failure = await rejection(first);
    expect(failure.kind).toBe("unavailable");
    await closed;
    expect(chain.failure).toBe(failure);
    await db.open();
    expect(await rejection(commits.commit("s", "a", records(1, 2), chain))).toBe(failure);
    expect(await db.keys().all()).toEqual([]);
  });
});
