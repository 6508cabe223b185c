import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createRedisBusFactory, type RedisBus } from "../../bus/redis/index.js";
import { type Cluster, startCluster } from "../support/cluster.js";
import { bytes, records } from "../support/data.js";
import { StatusRecorder } from "./subscriptions-recorder.js";
import { PrivateRedis, privateRedisSkipReason } from "../support/private-redis.js";
import { bounded, untilConnected } from "../support/waits.js";

const skipReason = privateRedisSkipReason;
if (skipReason !== undefined) console.log(`subscriptions bus outage test skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)("status subscriptions through a Redis outage", () => {
  let redis: PrivateRedis | undefined;
  let cluster: Cluster | undefined;

  afterAll(async () => {
    await cluster?.close();
    await redis?.[Symbol.asyncDispose]();
  });

  it("produces succeed while Redis is down; when the bus is back every subscription gets a fresh snapshot", async () => {
    redis = new PrivateRedis();
    await redis.start();
    const redisFactory = createRedisBusFactory({ url: redis.url, channelPrefix: `sk-outage:${randomUUID()}:`, maxReconnectDelayMs: 100 });
    const buses: RedisBus[] = [];
    cluster = await startCluster({
      bus: "redis",
      busFactory: () => {
        const bus = redisFactory();
        buses.push(bus);
        return bus;
      },
    });
    await Promise.all(buses.map((bus) => untilConnected(bus, true)));
    const [a, b] = cluster.instances;
    const subscriber = a.connect();
    const producer = b.connect();
    const storeId = cluster.newStoreId();
    await producer.produce(storeId, "s", "quiet", records(1, 2));
    await producer.produce(storeId, "s", "busy", records(1, 1));

    const recorder = new StatusRecorder();
    const errors: unknown[] = [];
    await using subscription = await subscriber.subscribeToSpace(storeId, "s", recorder.listener, { onError: (error) => errors.push(error) });
    await producer.publish(storeId, "s", "busy", bytes("2"));
    await recorder.untilSequence("busy", 2);
    const beforeOutage = recorder.statuses.length;

    await redis.kill();
    await Promise.all(buses.map((bus) => untilConnected(bus, false)));
    const [during] = await bounded(producer.produce(storeId, "s", "busy", records(3, 1)), "a produce while Redis is down");
    expect(during?.lastSequence).toBe(3);

    await redis.start();
    await recorder.untilSequence("busy", 3);
    // Only a snapshot repeats a head that did not change: "quiet" comes again, at 2.
    await recorder.until(() => recorder.statuses.slice(beforeOutage).some((status) => status.segment === "quiet"), "the snapshot after the outage");
    const afterOutage = recorder.statuses.slice(beforeOutage).map((status) => `${status.segment}:${status.lastSequence}`);
    expect(afterOutage).toEqual(expect.arrayContaining(["quiet:2", "busy:3"]));
    expect(subscription.state).toMatchObject({ status: "connected", reconnects: 0 });

    // And live again.
    await Promise.all(buses.map((bus) => untilConnected(bus, true)));
    await producer.publish(storeId, "s", "busy", bytes("4"));
    await recorder.untilSequence("busy", 4);
    expect(recorder.sequencesOf("busy").every((sequence, i, all) => i === 0 || sequence >= all[i - 1]!)).toBe(true);
    expect(errors).toEqual([]);
  });
});
