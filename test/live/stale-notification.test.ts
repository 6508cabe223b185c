import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import { createClient, type Entry } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { encodeSegmentNotification, segmentRoute } from "../../pkg/server/live/notifications.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { collect, records } from "../support/data.js";
import { bounded, Conditions } from "../support/waits.js";

const STORE = "5b1e0c7a-2d4f-4a8b-9c6d-3e2f1a0b9c8d";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A follow resumed on an instance whose bus notifications run behind storage: it read entry 10
 * (elsewhere), and the first notification it hears is the head at 9. That is not a purge: storage
 * still has entry 10 at the offset's position, so the follow goes on (docs/lifecycle.md).
 */
describe("a segment follow resumed ahead of its instance's notifications", () => {
  it("takes a head behind its offset for a late notification, checks storage, and goes on", { timeout: 30_000 }, async () => {
    const busFactory = createMemoryBusFactory();
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), busFactory, idleEviction: false, retention: false });
    const client = createClient(createInProcProvider(manager));
    // Another instance's bus on the same hub: what it publishes reaches the server's live tail.
    const other = busFactory();
    cleanups.push(async () => {
      await client.close();
      await manager.close();
      await other.close();
    });
    await client.produce(STORE, "s", "g", records(1, 10));
    const read: Entry[] = await collect(client.consumeSegment(STORE, { space: "s", segment: "g" }));
    const tenth = read.at(-1);
    expect(tenth?.sequence).toBe(10);

    const seen: number[] = [];
    const conditions = new Conditions();
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const following = (async (): Promise<unknown> => {
      try {
        for await (const entry of client.consumeSegment(STORE, { space: "s", segment: "g", follow: true, offset: tenth?.offset ?? "" }, { signal: abort.signal })) {
          seen.push(entry.sequence);
          conditions.check();
          if (seen.length >= 2) return "done";
        }
        return "ended";
      } catch (error) {
        return error;
      }
    })();
    // The follow listens to its space's tail once the server counts it.
    for (let turn = 0; ; turn++) {
      if (((await manager.storeDetail(STORE))?.followerCount ?? 0) > 0) break;
      if (turn > 10_000) throw new Error("the follow never registered");
      await new Promise((resolve) => setImmediate(resolve));
    }

    // The late notification: subscribers run in subscription order, so once ours heard it the tail had.
    let heard: () => void = () => undefined;
    const notified = new Promise<void>((resolve) => (heard = resolve));
    const unsubscribe = await other.subscribe(segmentRoute(STORE, "s"), () => heard());
    cleanups.push(async () => unsubscribe());
    const stale = { space: "s", segment: "g", firstSequence: 1, firstTimestamp: 1, lastSequence: 9, lastTimestamp: 1 };
    other.publish(segmentRoute(STORE, "s"), encodeSegmentNotification({ status: stale, origin: "another-instance" }));
    await bounded(notified, "the late notification");

    await client.produce(STORE, "s", "g", records(11, 2));
    expect(await bounded(following, "entries 11 and 12")).toBe("done");
    expect(seen).toEqual([11, 12]);
  });
});
