import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient, type SegmentStatus, type StreamsClient } from "../client/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { createNodeManager, type StoreNodeManager } from "./node-manager.js";
import type { StoreNode } from "./node.js";

const STORE = "0a0a0a0a-0000-4000-8000-00000000000a";
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const records = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ sequence: from + i, payload: bytes(`r${from + i}`) }));

describe("retention sweeper", () => {
  let manager: StoreNodeManager;
  let client: StreamsClient;

  function start(retention: { sweepIntervalMs?: number; defaults?: { [space: string]: { maxEntriesPerSegment?: number } } } | false): void {
    manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false, retention });
    client = createClient(createInProcProvider(manager));
  }

  afterEach(async () => {
    vi.useRealTimers();
    await client.close();
    await manager.close();
  });

  it("sweeps every interval, by a store's own retention or the configured default, and tells subscribers", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    start({ sweepIntervalMs: 1_000, defaults: { d: { maxEntriesPerSegment: 2 } } });
    await client.produce(STORE, "s", "g", records(1, 10));
    await client.produce(STORE, "d", "g", records(1, 10));
    await client.produce(STORE, "other", "g", records(1, 10));
    await client.setRetention(STORE, "s", { maxEntriesPerSegment: 3 });
    const statuses: SegmentStatus[] = [];
    const subscription = await client.subscribeToSegment(STORE, "s", "g", (status) => {
      statuses.push(status);
    });
    await vi.advanceTimersByTimeAsync(1_000);
    const kept: number[] = [];
    for await (const entry of client.consumeSegment(STORE, { space: "s", segment: "g" })) kept.push(entry.sequence);
    expect(kept).toEqual([8, 9, 10]);
    expect((await client.getStatus(STORE)).spaces.map((space) => [space.space, space.entryCount])).toEqual([
      ["d", 2],
      ["other", 10],
      ["s", 3],
    ]);
    await vi.waitFor(() => expect(statuses.at(-1)?.firstSequence).toBe(8));
    await subscription.unsubscribe();
    expect(((await manager.getOrCreate(STORE)) as StoreNode).sweptEntries).toBe(15);
  });

  it("never holds produce back: every produce made during sweeps commits, in order", async () => {
    start({ sweepIntervalMs: 3_600_000 });
    await client.setRetention(STORE, "s", { maxEntriesPerSegment: 5 });
    const node = (await manager.getOrCreate(STORE)) as StoreNode;
    const produced: Promise<SegmentStatus[]>[] = [];
    const sweeps: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      produced.push(client.produce(STORE, "s", "g", records(round * 5 + 1, 5)));
      sweeps.push(node.sweepRetention());
    }
    const statuses = (await Promise.all(produced)).flat();
    await Promise.all(sweeps);
    expect(statuses.map((status) => status.lastSequence)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 5));
    await node.sweepRetention();
    expect((await client.peek(STORE, "s", "g")).sequence).toBe(100);
    expect((await client.getStatus(STORE)).spaces[0]?.entryCount).toBe(5);
  });

  it("does nothing when disabled", async () => {
    start(false);
    await client.produce(STORE, "s", "g", records(1, 10));
    await client.setRetention(STORE, "s", { maxEntriesPerSegment: 1 });
    await ((await manager.getOrCreate(STORE)) as StoreNode).sweepRetention();
    expect((await client.getStatus(STORE)).spaces[0]?.entryCount).toBe(10);
  });
});
