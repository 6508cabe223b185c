import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClassicLevel } from "classic-level";
import { collect, records, sequences } from "../conformance/support.js";
import { LevelStore } from "./level-store.js";

/** Stored batch keys: [by segment, by space]. */
async function batchKeys(location: string): Promise<[number, number]> {
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open();
  try {
    const bySegment = await db.keys({ gte: Buffer.from([0x01]), lt: Buffer.from([0x02]) }).all();
    const bySpace = await db.keys({ gte: Buffer.from([0x02]), lt: Buffer.from([0x03]) }).all();
    return [bySegment.length, bySpace.length];
  } finally {
    await db.close();
  }
}

describe("level store reclaim", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-level-reclaim-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("deletes the batches wholly below the first kept sequence under both keys, and keeps a batch partly kept", async () => {
    const location = join(dir, randomUUID());
    const store = await LevelStore.open(randomUUID(), location, "node");
    for (let from = 1; from <= 30; from += 10) await store.produce("s", "g", records(from, from + 9));
    await store.produce("s", "h", records(1, 5));
    await store.truncateSegment("s", "g", 15);
    await store.reclaimed();
    expect(sequences(await collect(store.readSegment({ space: "s", segment: "g" })))).toEqual(Array.from({ length: 16 }, (_, i) => 15 + i));
    expect((await collect(store.readSpace({ space: "s" }))).map((entry) => `${entry.segment}${entry.sequence}`)[0]).toBe("g15");
    await store.deleteSegment("s", "h");
    await store.reclaimed();
    await store.close();
    // g's batches 11..20 and 21..30 remain; the first and h's are gone from both indexes.
    expect(await batchKeys(location)).toEqual([2, 2]);
    const reopened = await LevelStore.open(store.storeId, location, "node");
    try {
      expect(sequences(await collect(reopened.readSpace({ space: "s" })))).toEqual(Array.from({ length: 16 }, (_, i) => 15 + i));
    } finally {
      await reopened.close();
    }
  });

  it("reclaims at the next open what a store closed before reclaiming", async () => {
    const location = join(dir, randomUUID());
    const store = await LevelStore.open(randomUUID(), location, "node");
    // More batches than one reclaim step deletes, so closing at once leaves some behind.
    const produced = Array.from({ length: 300 }, (_, i) => store.produce("s", "g", records(i + 1, i + 1)));
    await Promise.all(produced);
    await store.deleteSegment("s", "g");
    await store.close();
    expect((await batchKeys(location))[0]).toBeGreaterThan(0);
    const reopened = await LevelStore.open(store.storeId, location, "node");
    await reopened.reclaimed();
    await reopened.close();
    expect(await batchKeys(location)).toEqual([0, 0]);
  });
});
