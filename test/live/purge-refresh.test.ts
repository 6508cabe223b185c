import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import type { ObservableBus } from "../../bus/types.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { segmentRoute } from "../../pkg/server/live/notifications.js";
import { createPostgresStoreFactory } from "../../store/postgres/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { records } from "../support/data.js";
import { dropSchema, randomSchema } from "../support/pg-schema.js";
import { postgres, redis, skipping } from "../support/services.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded, Conditions, untilConnected } from "../support/waits.js";

/**
 * A follower on one instance whose segment is purged and written again past it on another, while
 * the writer's bus cannot publish: neither the tombstone nor the new entries reach the follower, and
 * the writer's later refresh announcement sends it back to storage, where the segment's head is past
 * its position as if nothing had happened. The entry its position names is no longer the one it took
 * (another commit position), so the follow ends with not_found instead of going on with the new
 * life's entries (docs/lifecycle.md).
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

skipping(postgres, "purge detection through a bus outage (PostgreSQL)");
skipping(redis, "purge detection through a bus outage (Redis)");

describe.skipIf(postgres.url === undefined || redis.url === undefined)("a segment purged and written again while the writer's bus could not publish", () => {
  it("ends the other instance's follow with not_found once the refresh sends it back to storage", { timeout: 30_000 }, async () => {
    const postgresUrl = postgres.url ?? "";
    const redisUrl = redis.url ?? "";
    const schema = randomSchema("sk_purge");
    cleanups.push(() => dropSchema(postgresUrl, schema));
    const target = new URL(redisUrl);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    cleanups.push(() => proxy[Symbol.asyncDispose]());

    function instance(makeBus: () => ObservableBus): { bus: ObservableBus; client: StreamsClient } {
      const storeFactory = createPostgresStoreFactory({ connectionString: postgresUrl, schema, pool: { max: 3 } });
      let bus: ObservableBus | undefined;
      const manager = createNodeManager({ storeFactory, busFactory: () => (bus = makeBus()), idleEviction: false, retention: false });
      const client = createClient(createInProcProvider(manager));
      cleanups.push(async () => {
        await client.close();
        await manager.close();
        await storeFactory.close();
      });
      return { bus: bus as unknown as ObservableBus, client };
    }
    // Both buses on one channel prefix: the writer's reaches Redis through the proxy.
    const prefix = `streamkit-purge:${randomUUID()}:`;
    const reader = instance(() => createRedisBusFactory({ url: redisUrl, channelPrefix: prefix, maxReconnectDelayMs: 100 })());
    const writer = instance(() => createRedisBusFactory({ url: proxy.rewrite(redisUrl), channelPrefix: prefix, maxReconnectDelayMs: 100 })());
    await Promise.all([untilConnected(reader.bus, true), untilConnected(writer.bus, true)]);
    const storeId = randomUUID();

    // The reader's bus is subscribed to the space once it hears the writer's commit of entries 1..5.
    let heard: () => void = () => undefined;
    const notified = new Promise<void>((resolve) => (heard = resolve));
    const unsubscribe = await reader.bus.subscribe(segmentRoute(storeId, "s"), () => heard());
    cleanups.push(() => unsubscribe());
    await writer.client.produce(storeId, "s", "g", records(1, 5));
    await bounded(notified, "the reader's notification of entries 1..5");

    const seen: number[] = [];
    const conditions = new Conditions();
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const following = (async (): Promise<unknown> => {
      try {
        for await (const entry of reader.client.consumeSegment(storeId, { space: "s", segment: "g", follow: true }, { signal: abort.signal })) {
          seen.push(entry.sequence);
          conditions.check();
        }
        return "ended";
      } catch (error) {
        return error;
      }
    })();
    await conditions.until(() => seen.length >= 5, () => `5 entries (have ${seen.join(",")})`);

    proxy.cut();
    await untilConnected(writer.bus, false);
    await writer.client.deleteSegment(storeId, "s", "g", { purge: true });
    await writer.client.produce(storeId, "s", "g", records(1, 10));
    proxy.restore();
    expect(await bounded(following, "the follow to end after the writer's refresh")).toMatchObject({ kind: "not_found", code: "permanent" });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});
