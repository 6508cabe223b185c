import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisBusFactory, type RedisBus, type RedisBusFactory } from "../../bus/redis/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { decodeSegmentNotification, segmentRoute } from "../../pkg/server/live/notifications.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { PrivateRedis, privateRedisSkipReason } from "../support/private-redis.js";
import { bounded, untilConnected } from "../support/waits.js";

const skipReason = privateRedisSkipReason;
if (skipReason !== undefined) console.log(`redis outage tests skipped: ${skipReason}`);

/** Resolves at the bus's next `onReconnect` call (set up before causing the reconnect). */
function nextReconnect(bus: RedisBus): Promise<void> {
  const reconnected = new Promise<void>((resolve) => {
    const stop = bus.onReconnect(() => {
      stop();
      resolve();
    });
  });
  return bounded(reconnected, "onReconnect");
}

/** Records what a handler receives; `receive(n)` waits until n messages arrived. */
class Inbox {
  readonly messages: Buffer[] = [];
  #wake: () => void = () => undefined;
  readonly handler = (message: Uint8Array): void => {
    this.messages.push(Buffer.from(message));
    this.#wake();
  };
  get texts(): string[] {
    return this.messages.map((message) => message.toString());
  }
  receive(count: number): Promise<void> {
    const arrived = new Promise<void>((resolve) => {
      this.#wake = () => {
        if (this.messages.length >= count) resolve();
      };
      this.#wake();
    });
    return bounded(arrived, `${count} messages`);
  }
}

describe.skipIf(skipReason !== undefined)("the redis bus through a Redis outage", () => {
  let redis: PrivateRedis;
  let factory: RedisBusFactory;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    redis = new PrivateRedis();
    // A short reconnect cap keeps the test quick; the behaviour does not depend on it.
    factory = createRedisBusFactory({ url: redis.url, channelPrefix: `streamkit-outage:${randomUUID()}:`, maxReconnectDelayMs: 100 });
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await redis[Symbol.asyncDispose]();
  });

  function openBus(): RedisBus {
    const bus = factory();
    cleanups.push(() => bus.close());
    return bus;
  }

  it("drops publishes at once while Redis is down, then reconnects, re-subscribes and calls onReconnect", async () => {
    await redis.start();
    const [publisher, subscriber] = [openBus(), openBus()];
    await Promise.all([untilConnected(publisher, true), untilConnected(subscriber, true)]);
    const early = new Inbox();
    await subscriber.subscribe("orders", early.handler);
    publisher.publish("orders", Buffer.from("before"));
    await early.receive(1);

    await redis.kill();
    await Promise.all([untilConnected(publisher, false), untilConnected(subscriber, false)]);
    const before = publisher.stats;
    for (let i = 0; i < 100; i++) publisher.publish("orders", Buffer.from(`during ${i}`));
    expect(publisher.stats.published).toBe(before.published + 100);
    // Dropped at once, or (sent just before the publisher noticed) failed with the connection.
    await bounded(publisher.flush(), "flush");
    expect(publisher.stats).toEqual({ published: before.published + 100, dropped: before.dropped + 100 });

    // A subscribe made during the outage resolves, and its route is subscribed when Redis is back.
    const late = new Inbox();
    await bounded(subscriber.subscribe("late", late.handler), "subscribe while Redis is down");
    // Closing a bus never hangs on an unreachable Redis.
    const closedWhileDown = factory();
    await bounded(closedWhileDown.close(), "close while Redis is down");

    const reconnected = nextReconnect(subscriber);
    await redis.start();
    await reconnected;
    await Promise.all([untilConnected(publisher, true), untilConnected(subscriber, true)]);

    publisher.publish("orders", Buffer.from("after"));
    publisher.publish("late", Buffer.from("late"));
    await Promise.all([early.receive(2), late.receive(1)]);
    expect(early.texts).toEqual(["before", "after"]);
    expect(late.texts).toEqual(["late"]);
  });

  it("lets a bus start while Redis is down: subscribe resolves, and onReconnect fires once it is subscribed", async () => {
    await redis.kill();
    const bus = openBus();
    const inbox = new Inbox();
    await bounded(bus.subscribe("early", inbox.handler), "subscribe before Redis ever answered");
    bus.publish("early", Buffer.from("lost"));
    expect(bus.stats).toEqual({ published: 1, dropped: 1 });

    const reconnected = nextReconnect(bus);
    await redis.start();
    await reconnected;
    await untilConnected(bus, true);
    bus.publish("early", Buffer.from("carried"));
    await inbox.receive(1);
    expect(inbox.texts).toEqual(["carried"]);
  });

  it("keeps produces through a NodeManager succeeding while Redis is down; notifications flow again after", async () => {
    await redis.start();
    const managerBuses: RedisBus[] = [];
    const manager = createNodeManager({
      storeFactory: createMemoryStoreFactory(),
      busFactory: () => {
        const bus = factory();
        managerBuses.push(bus);
        return bus;
      },
      idleEviction: false,
    });
    cleanups.push(() => manager.close());
    const [managerBus] = managerBuses as [RedisBus];
    const client: StreamsClient = createClient(createInProcProvider(manager));
    cleanups.push(() => client.close());
    // Another server instance, watching this store's notifications.
    const observer = openBus();
    await Promise.all([untilConnected(managerBus, true), untilConnected(observer, true)]);
    const storeId = randomUUID();
    const notified = new Inbox();
    await observer.subscribe(segmentRoute(storeId, "space"), notified.handler);
    const headsNotified = () => notified.messages.map((message) => decodeSegmentNotification(message)?.status.lastSequence);
    const produce = (sequence: number) =>
      bounded(client.produce(storeId, "space", "segment", [{ sequence, payload: Buffer.from(`entry ${sequence}`) }]), `produce ${sequence}`);

    await produce(1);
    await notified.receive(1);

    await redis.kill();
    await untilConnected(managerBus, false);
    const before = managerBus.stats;
    for (let sequence = 2; sequence <= 11; sequence++) {
      const [status] = await produce(sequence);
      expect(status?.lastSequence).toBe(sequence);
    }
    expect(managerBus.stats.dropped - before.dropped).toBeGreaterThanOrEqual(10);

    const reconnected = nextReconnect(observer);
    await redis.start();
    await reconnected;
    await untilConnected(managerBus, true);
    await produce(12);
    await notified.receive(2);
    expect(headsNotified()).toEqual([1, 12]);

    const sequences: number[] = [];
    for await (const entry of client.consumeSegment(storeId, { space: "space", segment: "segment" })) sequences.push(entry.sequence);
    expect(sequences).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});
