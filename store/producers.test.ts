import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Producer } from "../pkg/api/index.js";
import { bytes, records } from "./conformance/support.js";
import { createMemoryStoreFactory } from "./memory/index.js";
import { ACK_WINDOW } from "./producer-state.js";
import { isRepeatedAck, ProducerIndex, type ProducerStoreOps } from "./producers.js";
import type { SegmentRange, Store } from "./types.js";

/**
 * The producer index's bound (docs/limits.md, idempotent publish): what it keeps is counted as
 * segments, producers and acknowledgements, and a state it dropped is read again from the newest
 * entry backwards, only as far as the producers it needs. A real memory store underneath; the reads
 * it serves the index are counted.
 */
let store: Store;
let read: number;
let ops: ProducerStoreOps;

beforeEach(async () => {
  store = await createMemoryStoreFactory().open(crypto.randomUUID());
  read = 0;
  ops = {
    produce: (space, segment, batch) => store.produce(space, segment, batch),
    async *readSegment(range: SegmentRange) {
      for await (const entry of store.readSegment(range)) {
        read++;
        yield entry;
      }
    },
    segmentHead: async (space, segment) => ({ status: await store.segmentStatus(space, segment), incarnation: 1 }),
  };
});

afterEach(() => store.close());

const stamp = (id: string, sequence: number, epoch = 0): Producer => ({ id, epoch, sequence });
const publish = (index: ProducerIndex, segment: string, id: string, sequence: number, payload = `${id}-${sequence}`) =>
  index.publish("s", segment, bytes(payload), {}, stamp(id, sequence));

describe("producer index bound", () => {
  it("counts each acknowledgement kept, not only producers", async () => {
    const index = new ProducerIndex(100, ops);
    const acks = await Promise.all(Array.from({ length: 300 }, (_, sequence) => publish(index, "g", "p", sequence)));
    // One segment, one producer, a full window of acknowledgements: over the bound once it is idle.
    await publish(index, "h", "q", 0);
    expect(index.size).toBeLessThanOrEqual(100);
    expect(index.size).toBe(3);
    // Dropped, then read again only as far back as it needs: the newest run of entries.
    read = 0;
    const again = await publish(index, "g", "p", 299);
    expect(isRepeatedAck(again)).toBe(true);
    expect(again.lastSequence).toBe(acks[299]?.lastSequence);
    expect(read).toBeLessThanOrEqual(64);
  });

  it("counts a segment's state with the producers and acknowledgements it keeps", async () => {
    const index = new ProducerIndex(1_000, ops);
    await publish(index, "g", "p", 0);
    await publish(index, "g", "p", 1);
    await publish(index, "g", "q", 0);
    await publish(index, "h", "p", 0);
    // g: itself, 2 producers, 3 acknowledgements; h: itself, 1 producer, 1 acknowledgement.
    expect(index.size).toBe(6 + 3);
    for (let sequence = 2; sequence < ACK_WINDOW + 10; sequence++) await publish(index, "g", "p", sequence);
    expect(index.size).toBe(1 + 2 + ACK_WINDOW + 1 + 3);
  });

  it("rebuilds a dropped state from the newest entries, not the whole segment", async () => {
    const index = new ProducerIndex(10, ops);
    for (let from = 1; from <= 5_000; from += 1_000) await store.produce("s", "g", records(from, from + 999));
    const first = await publish(index, "g", "p", 0);
    await publish(index, "g", "p", 1);
    // Other segments push g's state out.
    for (let segment = 0; segment < 5; segment++) await publish(index, `other-${segment}`, "q", 0);
    read = 0;
    const retried = await publish(index, "g", "p", 0);
    expect(retried.lastSequence).toBe(first.lastSequence);
    expect(await publish(index, "g", "p", 2)).toMatchObject({ lastSequence: 5_003 });
    expect(read).toBeLessThanOrEqual(64);
  });

  it("reads a segment back to its start for a producer it has not seen, and once it has, not again", async () => {
    const index = new ProducerIndex(10, ops);
    for (let from = 1; from <= 3_000; from += 1_000) await store.produce("s", "g", records(from, from + 999));
    // A producer new to the segment may only be told from a repeat by reading every entry.
    expect((await publish(index, "g", "p", 0)).lastSequence).toBe(3_001);
    expect(read).toBe(3_000);
    read = 0;
    expect((await publish(index, "g", "q", 0)).lastSequence).toBe(3_002);
    expect(read).toBeLessThanOrEqual(1);
    // Pushed out by other segments, a state is read back again only for a producer it must look for.
    for (let segment = 0; segment < 5; segment++) await publish(index, `other-${segment}`, "r", 0);
    read = 0;
    expect((await publish(index, "g", "q", 1)).lastSequence).toBe(3_003);
    expect(read).toBeLessThanOrEqual(64);
  });

  it("keeps, while reading a segment back, only the producers it looks for, however many others it passes", async () => {
    // 2,000 producers wrote to g, through an index that keeps them all.
    const writer = new ProducerIndex(1_000_000, ops);
    for (let id = 0; id < 2_000; id += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => publish(writer, "g", `w${id + i}`, 0)));
    }
    // A fresh index (a restart) looks for w0, whose only entry is the oldest: it passes the other 1,999.
    let peak = 0;
    const index: ProducerIndex = new ProducerIndex(50, {
      ...ops,
      readSegment: (range) => {
        peak = Math.max(peak, index.size);
        return ops.readSegment(range);
      },
    });
    const again = await publish(index, "g", "w0", 0);
    expect(isRepeatedAck(again)).toBe(true);
    expect(again.lastSequence).toBe(1);
    // The segment, w0 and its acknowledgement: not a track per producer passed.
    expect(index.size).toBeLessThanOrEqual(3);
    expect(peak).toBeLessThanOrEqual(3);
    // A producer passed but not kept is still found (read again), and a new one is stored once.
    const middle = await publish(index, "g", "w1000", 0);
    expect(isRepeatedAck(middle)).toBe(true);
    expect(middle.lastSequence).toBe(1_001);
    expect((await publish(index, "g", "new", 0)).lastSequence).toBe(2_001);
    expect(index.size).toBeLessThanOrEqual(7);
  });

  it("does not read back what its own publishes just wrote", async () => {
    const index = new ProducerIndex(1_000, ops);
    for (let sequence = 0; sequence < 20; sequence++) await publish(index, "g", "p", sequence);
    await Promise.all(Array.from({ length: 50 }, (_, i) => publish(index, "g", "q", i)));
    expect(read).toBe(0);
    // A write of someone else's is read (once) before the next stamped publish.
    await store.publish("s", "g", bytes("plain"));
    expect((await publish(index, "g", "p", 20)).lastSequence).toBe(72);
    expect(read).toBe(1);
  });
});
