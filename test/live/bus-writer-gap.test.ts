import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
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
import { bounded, Conditions, untilConnected } from "../support/waits.js";

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
      // A status subscriber on the reader's instance learns the new head too.
      const heads: number[] = [];
      const conditions = new Conditions();
      const subscription = await reader.client.subscribeToSegment(STORE, "s", "g", (status) => {
        heads.push(status.lastSequence);
        conditions.check();
      });
      cleanups.push(() => subscription.unsubscribe());
      await conditions.until(() => heads.includes(1), "the subscription's snapshot");

      proxy.cut();
      await untilConnected(writer.bus, false);
      await writer.client.produce(STORE, "s", "g", records(2, 1));
      proxy.restore();
      await untilConnected(writer.bus, true);
      expect((await followed.next("entry 2, committed while the writer's bus was cut")).sequence).toBe(2);
      await conditions.until(() => heads.includes(2), () => `head 2 on the status subscription (heard ${heads.join(",")})`);
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

describe.skipIf(postgres.url === undefined)("a writer's PostgreSQL bus whose pg_notify failed", () => {
  it("announces the commit again once pg_notify succeeds, with no reconnect on either side", async () => {
    // A database and role of the test's own: the writer's role loses EXECUTE on pg_notify there, and nothing else does.
    const suffix = randomUUID().replaceAll("-", "");
    const [database, role] = [`streamkit_gap_${suffix}`, `streamkit_gap_${suffix}`];
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });
    const readerUrl = new URL(postgres.url ?? "");
    readerUrl.pathname = `/${database}`;
    const writerUrl = new URL(readerUrl);
    writerUrl.username = role;
    const inDatabase = new pg.Client({ connectionString: readerUrl.toString() });
    await inDatabase.connect();
    cleanups.push(() => inDatabase.end());
    const busOf = (url: URL) => () => createPostgresBusFactory({ connectionString: url.toString(), channelPrefix: "gap" })();
    const storeFactory = createMemoryStoreFactory();
    const reader = instance(storeFactory, busOf(readerUrl));
    const writer = instance(storeFactory, busOf(writerUrl));
    await Promise.all([untilConnected(reader.bus, true), untilConnected(writer.bus, true)]);
    const followed = await liveFollow(reader);
    const reconnects = { reader: 0, writer: 0 };
    reader.manager.bus.onReconnect(() => reconnects.reader++);
    writer.manager.bus.onReconnect(() => reconnects.writer++);

    // PostgreSQL refuses the writer's NOTIFY statement (permission denied) while its connection stays up.
    await inDatabase.query("REVOKE EXECUTE ON FUNCTION pg_notify(text, text) FROM PUBLIC");
    const dropped = writer.bus.stats.dropped;
    await writer.client.produce(STORE, "s", "g", records(2, 1));
    await bounded(writer.bus.flush(), "the writer's refused notification");
    expect(writer.bus.stats.dropped).toBeGreaterThan(dropped);
    await inDatabase.query("GRANT EXECUTE ON FUNCTION pg_notify(text, text) TO PUBLIC");
    expect((await followed.next("entry 2, whose notification PostgreSQL refused")).sequence).toBe(2);
    expect(reconnects).toEqual({ reader: 0, writer: 0 });
  });
});
