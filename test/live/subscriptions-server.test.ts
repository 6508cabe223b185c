import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import type { Bus, BusFactory } from "../../bus/types.js";
import { createClient, type SegmentStatus, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import { encodeSegmentNotification, notifyCommitted, segmentRoute } from "../../pkg/server/live/notifications.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { bytes, records } from "../support/data.js";
import { StatusRecorder } from "./subscriptions-recorder.js";

// Server behaviour a second instance can provoke: notifications out of order, duplicated, malformed,
// and commits racing the snapshot read. A second bus of the same factory plays the other instance.

interface System {
  manager: StoreNodeManager;
  client: StreamsClient;
  /** Another instance's bus. */
  peer: Bus;
  /** Bus subscriptions the manager's bus holds right now. */
  activeSubscriptions(): number;
}

/** The manager's bus, counting the subscriptions it holds. */
function countingBusFactory(busFactory: BusFactory): { factory: BusFactory; active: () => number } {
  let active = 0;
  const factory: BusFactory = () => {
    const bus = busFactory();
    return {
      publish: (route, message) => bus.publish(route, message),
      async subscribe(route, handler) {
        const unsubscribe = await bus.subscribe(route, handler);
        active++;
        let removed = false;
        return async () => {
          if (!removed) active--;
          removed = true;
          await unsubscribe();
        };
      },
      onReconnect: (listener) => bus.onReconnect(listener),
      get connected() {
        return bus.connected;
      },
      get stats() {
        return bus.stats;
      },
      close: () => bus.close(),
    };
  };
  return { factory, active: () => active };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(storeFactory: StoreFactory = createMemoryStoreFactory()): System {
  const busFactory = createMemoryBusFactory();
  const counting = countingBusFactory(busFactory);
  const manager = createNodeManager({ storeFactory, busFactory: counting.factory, idleEviction: false });
  const client = createClient(createInProcProvider(manager));
  const peer = busFactory();
  cleanups.push(async () => {
    await client.close();
    await manager.close();
    await peer.close();
  });
  return { manager, client, peer, activeSubscriptions: counting.active };
}

const statusAt = (segment: string, lastSequence: number, extra: Partial<SegmentStatus> = {}): SegmentStatus => ({
  space: "s",
  segment,
  firstSequence: 1,
  firstTimestamp: 1,
  lastSequence,
  lastTimestamp: 1,
  ...extra,
});

describe("status subscriptions against notifications from other instances", () => {
  it("drops notifications at or below the head already sent, whatever order they arrive in", async () => {
    const { client, peer } = start();
    const storeId = crypto.randomUUID();
    await client.produce(storeId, "s", "g", records(1, 5));
    const recorder = new StatusRecorder();
    await using _subscription = await client.subscribeToSpace(storeId, "s", recorder.listener);
    const route = segmentRoute(storeId, "s");
    const notify = (status: SegmentStatus) => peer.publish(route, encodeSegmentNotification({ status, origin: "peer" }));

    // Each stale notification is followed by a fresh one of another segment: were the stale one
    // accepted, it would be sent first (one loop sends in arrival order), so the waits see it.
    notify(statusAt("g", 3)); // behind the snapshot
    notify(statusAt("h", 1));
    await recorder.untilSequence("h", 1);
    notify(statusAt("g", 5)); // equal to the snapshot
    notify(statusAt("h", 2));
    await recorder.untilSequence("h", 2);
    notify(statusAt("g", 8));
    await recorder.untilSequence("g", 8);
    notify(statusAt("g", 7)); // late, out of order
    notify(statusAt("h", 3));
    await recorder.untilSequence("h", 3);
    notify(statusAt("g", 8)); // duplicate
    peer.publish(route, bytes("not a notification"));
    notify({ ...statusAt("g", 99), space: "other" }); // wrong space on this route
    notify(statusAt("h", 4));
    await recorder.untilSequence("h", 4);
    expect(recorder.statuses.map((status) => `${status.segment}:${status.lastSequence}`)).toEqual(["g:5", "h:1", "h:2", "g:8", "h:3", "h:4"]);
  });

  it("carries only the status fields of a notification", async () => {
    const { client, peer } = start();
    const storeId = crypto.randomUUID();
    const recorder = new StatusRecorder();
    await using _subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener);
    const status = { ...statusAt("g", 1), heartbeat: true, extra: "field" };
    peer.publish(segmentRoute(storeId, "s"), encodeSegmentNotification({ status, origin: "peer" }));
    await recorder.untilSequence("g", 1);
    const empty = { space: "s", segment: "g", firstSequence: 0, firstTimestamp: 0, lastSequence: 0, lastTimestamp: 0 };
    expect(recorder.statuses).toEqual([empty, statusAt("g", 1)]);
  });

  it("subscribes to the bus before reading the snapshot, so a commit racing the read is not lost", async () => {
    let commitDuringSnapshot: (() => Promise<void>) | undefined;
    const memory = createMemoryStoreFactory();
    // A store whose snapshot read lets another instance commit (and notify) right after reading.
    const storeFactory: StoreFactory = {
      async open(storeId) {
        const store = await memory.open(storeId);
        return new Proxy(store, {
          get(target, property) {
            if (property === "segmentStatus") {
              return async (space: string, segment: string) => {
                const status = await target.segmentStatus(space, segment);
                await commitDuringSnapshot?.();
                return status;
              };
            }
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    };
    const { client, peer } = start(storeFactory);
    const storeId = crypto.randomUUID();
    await client.produce(storeId, "s", "g", records(1, 3));
    const other = await memory.open(storeId);
    commitDuringSnapshot = async () => {
      commitDuringSnapshot = undefined;
      const status = await other.publish("s", "g", bytes("4"));
      notifyCommitted(peer, storeId, "peer", status);
    };
    const recorder = new StatusRecorder();
    await using _subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener);
    await recorder.untilSequence("g", 4);
    expect(recorder.sequencesOf("g")).toEqual([3, 4]);
  });

  it("holds one bus subscription while open and releases it when the client unsubscribes or aborts", async () => {
    const system = start();
    const { client, manager } = system;
    const storeId = crypto.randomUUID();
    await client.getSpaces(storeId);
    // The manager's own routes (workers roll call, instance announcements) stay subscribed throughout.
    const own = system.activeSubscriptions();
    const activeSubscriptions = () => system.activeSubscriptions() - own;
    const subscription = await client.subscribeToSegment(storeId, "s", "g", () => undefined);
    expect(activeSubscriptions()).toBe(1);
    await subscription.unsubscribe();
    await until(() => activeSubscriptions() === 0);

    const controller = new AbortController();
    await client.subscribeToSpace(storeId, "s", () => undefined, { signal: controller.signal });
    expect(activeSubscriptions()).toBe(1);
    controller.abort();
    await until(() => activeSubscriptions() === 0 && manager.nodes()[0]?.openStreams === 0);
  });
});

/** Resolves once `ready()` holds, checking after each macrotask; fails after 5 s. */
async function until(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((resolve) => setImmediate(resolve));
  }
}
