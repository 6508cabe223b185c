import { describe, expect, it } from "vitest";
import type { Record } from "../api/index.js";
import { BatchReader, MAX_BATCH_BYTES } from "./batches.js";

const record = (sequence: number, size = 1): Record => ({ sequence, payload: new Uint8Array(size) });
const sequencesOf = (batch: Record[] | undefined) => batch?.map((r) => r.sequence);

async function allBatches(reader: BatchReader): Promise<number[][]> {
  const batches: number[][] = [];
  for (let batch = await reader.next(); batch !== undefined; batch = await reader.next()) batches.push(sequencesOf(batch)!);
  return batches;
}

describe("BatchReader", () => {
  it("fills whole batches from a sync source", async () => {
    function* source() {
      for (let i = 1; i <= 7; i++) yield record(i);
    }
    expect(await allBatches(new BatchReader(source(), 3))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it("fills whole batches from an async source whose records are ready", async () => {
    async function* inner() {
      for (let i = 1; i <= 7; i++) yield record(i);
    }
    // Generator layers each add microtask turns; a few of them still count as ready.
    async function* layered() {
      for await (const r of inner()) yield r;
    }
    expect(await allBatches(new BatchReader(layered(), 3))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it("hands out what it has when the async source's next record is not ready", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* source() {
      yield record(1);
      yield record(2);
      await gate;
      yield record(3);
    }
    const reader = new BatchReader(source(), 100);
    expect(sequencesOf(await reader.next())).toEqual([1, 2]);
    const next = reader.next();
    release();
    expect(sequencesOf(await next)).toEqual([3]);
    expect(await reader.next()).toBeUndefined();
  });

  it("keeps a batch within the byte budget, a bigger record travelling alone", async () => {
    const third = Math.floor(MAX_BATCH_BYTES / 3);
    const input = [record(1, third), record(2, third), record(3, third), record(4, MAX_BATCH_BYTES + 1), record(5, 1)];
    expect(await allBatches(new BatchReader(input, 1_000))).toEqual([[1, 2], [3], [4], [5]]);
  });

  it("checks a whole array before handing out anything", () => {
    const input = [record(1), record(2), { sequence: 3, payload: "x" }] as unknown as Record[];
    expect(() => new BatchReader(input, 1)).toThrow(/records\[2\]\.payload/);
  });

  it("checks each record of an iterator as it is read", async () => {
    function* source() {
      yield record(1);
      yield { sequence: "2", payload: new Uint8Array() } as unknown as Record;
    }
    const reader = new BatchReader(source(), 1);
    expect(sequencesOf(await reader.next())).toEqual([1]);
    await expect(reader.next()).rejects.toThrow(TypeError);
  });

  it("lets the source go on close", async () => {
    let finished = false;
    function* source() {
      try {
        for (let i = 1; ; i++) yield record(i);
      } finally {
        finished = true;
      }
    }
    const reader = new BatchReader(source(), 2);
    expect(sequencesOf(await reader.next())).toEqual([1, 2]);
    reader.close();
    expect(finished).toBe(true);
    expect(await reader.next()).toBeUndefined();
  });
});
