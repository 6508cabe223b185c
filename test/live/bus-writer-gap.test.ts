import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createPostgresBusFactory } from "../../bus/postgres/index.js";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import type { ObservableBus } from "../../bus/types.js";
import { createClient, type Entry, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import { segmentRoute } from "../../pkg/server/live/notifications.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { records } from "../support/data.js";
import { PrivateRedis, privateRedisSkipReason } from "../support/private-redis.js";
import { postgres, redis, skipping } from "../support/services.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded, untilConnected } from "../support/waits.js";

/**
 * The writer's side of a bus outage (docs/design.md, Buses): two instances sharing a store, each with
 * its own bus connection. A commit made on the writer while its bus cannot publish (connecting, cut,
 * or Redis answering an error) reaches a follower on the other instance once the writer's bus can
 * publish again, without a further commit and without the follower's bus reconnecting.
 */
const STORE = "0d6f1e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type BusOf = (url: string) => ObservableBus;

/** A NodeManager on `storeFactory` whose bus `busOf` makes; returns it and its bus. */
function instance(storeFactory: StoreFactory, busOf: () => ObservableBus): { manager: StoreNodeManager; bus: ObservableBus; client: StreamsClient } {
  let bus: ObservableBus | undefined;
  const manager = createNodeManager({
    storeFactory,
    busFactory: () => (bus = busOf()),
    idleEviction: false,
  });
  const client = createClient(createInProcProvider(manager));
  cleanups.push(async () => {
    await client.close();
    await manager.close();
  });
  return { manager, bus: bus as unknown as ObservableBus, client };
}

/**
 * A follow of segment s/g on `reader`, live: the reader's bus delivered a notification of the space
 * (for entry 1, committed through the reader) on a channel the follow then joins, so no refresh owed
 * by a subscription made before the bus acknowledged it can later stand in for the writer's
 * announcement. `next()` gives the follow's next entry within the bounded wait.
 */
async function liveFollow(reader: { bus: ObservableBus; client: StreamsClient }): Promise<{ next(what: string): Promise<Entry> }> {
  let heard: () => void = () => undefined;
  const notified = new Promise<void>((resolve) => (heard = resolve));
  const unsubscribe = await reader.bus.subscribe(segmentRoute(STORE, "s"), () => heard());
  cleanups.push(() => unsubscribe());
  await reader.client.produce(STORE, "s", "g", records(1, 1));
  await bounded(notified, "the reader's own notification of entry 1");
  const abort = new AbortController();
  const iterator = reader.client.consumeSegment(STORE, { space: "s", segment: "g", follow: true }, { signal: abort.signal })[Symbol.asyncIterator]();
  cleanups.push(async () => {
    abort.abort();
    await iterator.return?.().catch(() => undefined);
  });
  const followed = {
    async next(what: string): Promise<Entry> {
      const result = await bounded(iterator.next(), what);
      if (result.done === true) throw new Error(`the follow ended before ${what}`);
      return result.value;
    },
  };
  expect((await followed.next("entry 1")).sequence).toBe(1);
  return followed;
}

function describeBus(name: string, service: { url: string | undefined }, makeFactory: (url: string, prefix: string) => BusOf): void {
  describe.skipIf(service.url === undefined)(`a writer's ${name} bus that could not publish`, () => {
    async function setUp(): Promise<{ proxy: TcpProxy; writerBus: () => ObservableBus; readerBus: () => ObservableBus }> {
      const url = service.url ?? "";
      const target = new URL(url);
      const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
      cleanups.push(() => proxy[Symbol.asyncDispose]());
      const busOf = makeFactory(url, randomUUID());
      return { proxy, writerBus: () => busOf(proxy.rewrite(url)), readerBus: () => busOf(url) };
    }

    it("announces, once it reconnects, a commit made while it was cut", async () => {
      const { proxy, writerBus, readerBus } = await setUp();
      const storeFactory = createMemoryStoreFactory();
      const reader = instance(storeFactory, readerBus);
      const writer = instance(storeFactory, writerBus);
      await Promise.all([untilConnected(reader.bus, true), untilConnected(writer.bus, true)]);
      const followed = await liveFollow(reader);

      proxy.cut();
      await untilConnected(writer.bus, false);
      await writer.client.produce(STORE, "s", "g", records(2, 1));
      proxy.restore();
      await untilConnected(writer.bus, true);
      expect((await followed.next("entry 2, committed while the writer's bus was cut")).sequence).toBe(2);
    });

    it("announces a commit made before it ever connected", async () => {
      const { proxy, writerBus, readerBus } = await setUp();
      const storeFactory = createMemoryStoreFactory();
      const reader = instance(storeFactory, readerBus);
      await untilConnected(reader.bus, true);
      const followed = await liveFollow(reader);

      proxy.cut();
      const writer = instance(storeFactory, writerBus);
      await writer.client.produce(STORE, "s", "g", records(2, 1));
      expect(writer.bus.connected).toBe(false);
      proxy.restore();
      expect((await followed.next("entry 2, committed while the writer's bus was connecting")).sequence).toBe(2);
    });
  });
}

skipping(redis, "writer-side Redis bus outage");
describeBus("Redis", redis, (_url, prefix) => (url) => createRedisBusFactory({ url, channelPrefix: `streamkit-gap:${prefix}:`, maxReconnectDelayMs: 100 })());

skipping(postgres, "writer-side PostgreSQL bus outage");
describeBus("PostgreSQL", postgres, (_url, prefix) => (url) =>
  createPostgresBusFactory({ connectionString: url, channelPrefix: prefix, maxReconnectDelayMs: 100, })(),
);

if (privateRedisSkipReason !== undefined) console.log(`redis error-answer test skipped: ${privateRedisSkipReason}`);

describe.skipIf(privateRedisSkipReason !== undefined)("a writer's Redis bus whose publish Redis refused", () => {
  it("announces the commit again once Redis accepts publishes, with no reconnect on either side", async () => {
    const server = new PrivateRedis();
    cleanups.push(() => server[Symbol.asyncDispose]());
    await server.start();
    const admin = new Redis({ path: server.socketPath });
    cleanups.push(async () => void admin.disconnect());
    const busOf = () => createRedisBusFactory({ url: server.url, channelPrefix: "gap:", maxReconnectDelayMs: 100 })();
    const storeFactory = createMemoryStoreFactory();
    const reader = instance(storeFactory, busOf);
    const writer = instance(storeFactory, busOf);
    await Promise.all([untilConnected(reader.bus, true), untilConnected(writer.bus, true)]);
    const followed = await liveFollow(reader);
    const reconnects = { reader: 0, writer: 0 };
    reader.manager.bus.onReconnect(() => reconnects.reader++);
    writer.manager.bus.onReconnect(() => reconnects.writer++);

    // Redis answers PUBLISH with an error (NOPERM) while every connection stays up.
    await admin.call("ACL", "SETUSER", "default", "-publish");
    const dropped = writer.bus.stats.dropped;
    await writer.client.produce(STORE, "s", "g", records(2, 1));
    await bounded(writer.bus.flush(), "the writer's refused publish");
    expect(writer.bus.stats.dropped).toBeGreaterThan(dropped);
    await admin.call("ACL", "SETUSER", "default", "+publish");
    expect((await followed.next("entry 2, whose notification Redis refused")).sequence).toBe(2);
    expect(reconnects).toEqual({ reader: 0, writer: 0 });
    expect([reader.bus.connected, writer.bus.connected]).toEqual([true, true]);
  });
});
