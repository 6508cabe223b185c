import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redis, skipping } from "../../test/support/services.js";
import { createRedisBusFactory, type RedisBus } from "./index.js";

const url = redis.url;
skipping(redis, "redis bus tests against a live Redis");

const WAIT_MS = 5_000;

/** Resolves once `bus.connected` equals `wanted`; fails after WAIT_MS. */
function untilConnected(bus: RedisBus, wanted = true): Promise<void> {
  if (bus.connected === wanted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bus.connected did not become ${wanted} within ${WAIT_MS} ms`)), WAIT_MS);
    const stop = bus.onConnectionChange((now) => {
      if (now !== wanted) return;
      stop();
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Rejects if `promise` takes longer than WAIT_MS. */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("createRedisBusFactory options", () => {
  it("rejects malformed options with a TypeError naming the option", () => {
    expect(() => createRedisBusFactory({ url: "http://localhost" })).toThrow(/url/);
    expect(() => createRedisBusFactory({ url: "redis://localhost", maxQueue: 0 })).toThrow(/maxQueue/);
    expect(() => createRedisBusFactory({ url: "redis://localhost", maxQueue: 1.5 })).toThrow(TypeError);
    expect(() => createRedisBusFactory({ url: "redis://localhost", channelPrefix: 3 as unknown as string })).toThrow(/channelPrefix/);
    expect(() => createRedisBusFactory({ url: "redis://localhost", closeTimeoutMs: -1 })).toThrow(/closeTimeoutMs/);
  });
});

describe("redis bus with Redis unreachable", () => {
  let bus: RedisBus;

  beforeAll(async () => {
    const port = await unusedPort();
    bus = createRedisBusFactory({ url: `redis://127.0.0.1:${port}`, maxReconnectDelayMs: 50 })();
  });

  afterAll(async () => {
    await bus.close();
  });

  it("drops and counts every publish at once, without throwing", () => {
    for (let i = 0; i < 100; i++) bus.publish("route", new Uint8Array([i]));
    expect(bus.connected).toBe(false);
    expect(bus.stats).toEqual({ published: 100, dropped: 100 });
  });

  it("resolves a subscribe once the connection attempt failed, and closes without hanging", async () => {
    const unsubscribe = await bounded(bus.subscribe("route", () => undefined), "subscribe");
    await bounded(unsubscribe(), "unsubscribe");
    await bounded(bus.close(), "close");
    await bounded(bus.close(), "second close");
    expect(bus.connected).toBe(false);
  });
});

describe.skipIf(url === undefined)("redis bus on a live Redis", () => {
  let admin: Redis;
  let buses: RedisBus[];
  let prefix: string;

  beforeAll(() => {
    admin = new Redis(url ?? "");
  });

  afterAll(async () => {
    await admin.quit();
  });

  afterEach(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
  });

  async function open(options: { maxQueue?: number } = {}): Promise<RedisBus> {
    prefix = `streamkit-test:${randomUUID()}:`;
    const bus = createRedisBusFactory({ url: url ?? "", channelPrefix: prefix, ...options })();
    buses = [bus];
    await untilConnected(bus);
    return bus;
  }

  /** How many Redis subscriptions the channel of `route` has, across all connections. */
  async function subscriptionsOf(route: string): Promise<number> {
    const reply = (await admin.call("PUBSUB", "NUMSUB", prefix + route)) as [string, number];
    return Number(reply[1]);
  }

  it("shares one Redis subscription among a route's handlers and UNSUBSCRIBEs after the last", async () => {
    const bus = await open();
    const first = await bus.subscribe("shared", () => undefined);
    const second = await bus.subscribe("shared", () => undefined);
    expect(await subscriptionsOf("shared")).toBe(1);

    await first();
    expect(await subscriptionsOf("shared")).toBe(1);
    await second();
    expect(await subscriptionsOf("shared")).toBe(0);
  });

  it("drops, and counts, publishes beyond maxQueue waiting for Redis's reply", async () => {
    const bus = await open({ maxQueue: 10 });
    const received: number[] = [];
    let wake: () => void = () => undefined;
    await bus.subscribe("burst", (message) => {
      received.push(message[0] ?? -1);
      wake();
    });
    const receivedCount = (count: number) =>
      bounded(
        new Promise<void>((resolve) => {
          wake = () => {
            if (received.length >= count) resolve();
          };
          wake();
        }),
        `${count} messages`,
      );

    // Replies cannot arrive while this loop runs, so exactly the first 10 are sent.
    for (let i = 0; i < 100; i++) bus.publish("burst", new Uint8Array([i]));
    expect(bus.stats).toEqual({ published: 100, dropped: 90 });
    await receivedCount(10);

    // Once Redis answered them, the queue has room again.
    await bounded(bus.flush(), "flush");
    bus.publish("burst", new Uint8Array([100]));
    await receivedCount(11);
    expect(bus.stats).toEqual({ published: 101, dropped: 90 });
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100]);
  });

  it("uses the channel prefix: routes become channelPrefix + route", async () => {
    const bus = await open();
    await bus.subscribe("prefixed", () => undefined);
    expect(await subscriptionsOf("prefixed")).toBe(1);
    const delivered = await admin.publish(`${prefix}prefixed`, "raw");
    expect(delivered).toBe(1);
  });
});
