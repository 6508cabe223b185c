// Produce → subscriber-notified latency: `count` publishes one at a time, each timed from just before
// the publish to the subscriber's callback seeing that sequence; prints p99 (ms) with p50 in the detail.
//   local      one instance: memory bus, in-process provider
//   redis      two instances sharing one store, each with its own Redis bus; WebSocket clients,
//              the subscriber on one instance and the publisher on the other
//   raw-redis  the baseline: ioredis PUBLISH → a subscriber connection's message handler
// Stores are in memory, so the figures are the live path's, not the disk's. Redis: STREAMKIT_REDIS_URL
// (default redis://127.0.0.1:6379).
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import type { BusFactory } from "../../bus/types.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { payloadOf, report } from "../harness.js";
import { serveOverWs } from "../system.js";

type Mode = "local" | "redis" | "raw-redis";

const mode = process.argv[2] ?? "local";
if (mode !== "local" && mode !== "redis" && mode !== "raw-redis") throw new TypeError(`mode must be local, redis or raw-redis, got ${mode}`);
const count = Number(process.argv[3] ?? 2_000);
if (!Number.isSafeInteger(count) || count < 1) throw new TypeError("count must be a positive integer");
/**
 * Rounds run before measuring, in every mode alike. Until the JIT has settled, V8 compiles on a
 * background thread, which on a 2-core machine competes with redis-server and the kernel for a core
 * and shows up as a millisecond tail (200 rounds measured a p99 twice the steady state's).
 */
const WARMUP = 3_000;
/** One wait for a notification; a lost one fails the run rather than hanging it. */
const WAIT_MS = 10_000;
const PAYLOAD = payloadOf(200, 3);
const redisUrl = process.env.STREAMKIT_REDIS_URL || "redis://127.0.0.1:6379";

/** Waits for sequence numbers to be seen, timing each from when it was expected. */
class Arrivals {
  #expected: { sequence: number; resolve: (at: number) => void } | undefined;

  /** Call with the sequence a notification carries. */
  seen(sequence: number): void {
    const expected = this.#expected;
    if (expected === undefined || sequence < expected.sequence) return;
    this.#expected = undefined;
    expected.resolve(performance.now());
  }

  /** Resolves with the time `sequence` was seen. */
  expect(sequence: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sequence ${sequence} not notified within ${WAIT_MS} ms`)), WAIT_MS);
      this.#expected = {
        sequence,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }
}

/** Latencies in ms of `total` rounds; each round's `publish(n)` must lead to `arrivals.seen(n)`. */
async function measure(total: number, arrivals: Arrivals, publish: (n: number) => Promise<unknown>, firstSequence: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let n = firstSequence; n < firstSequence + total; n++) {
    const seen = arrivals.expect(n);
    const started = performance.now();
    await publish(n);
    latencies.push((await seen) - started);
  }
  return latencies;
}

async function measureClients(subscriber: StreamsClient, publisher: StreamsClient): Promise<number[]> {
  const storeId = randomUUID();
  const arrivals = new Arrivals();
  const subscription = await subscriber.subscribeToSegment(storeId, "bench", "latency", (status) => arrivals.seen(status.lastSequence));
  try {
    const publish = () => publisher.publish(storeId, "bench", "latency", PAYLOAD);
    await measure(WARMUP, arrivals, publish, 1);
    return await measure(count, arrivals, publish, WARMUP + 1);
  } finally {
    await subscription.unsubscribe();
  }
}

async function local(): Promise<number[]> {
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
  const client = createClient(createInProcProvider(manager));
  try {
    return await measureClients(client, client);
  } finally {
    await client.close();
    await manager.close();
  }
}

/** One server instance over the shared store with its own bus, and a WebSocket client to it. */
function startInstance(name: string, storeFactory: StoreFactory, busFactory: BusFactory) {
  return serveOverWs(createNodeManager({ storeFactory, busFactory, nodeId: name, idleEviction: false }));
}

async function acrossRedis(): Promise<number[]> {
  const storeFactory = createMemoryStoreFactory();
  const busFactory = createRedisBusFactory({ url: redisUrl, channelPrefix: `bench:${randomUUID()}:` });
  const a = await startInstance("a", storeFactory, busFactory);
  const b = await startInstance("b", storeFactory, busFactory);
  try {
    return await measureClients(a.client, b.client);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function rawRedis(): Promise<number[]> {
  const channel = `bench:raw:${randomUUID()}`;
  const publisher = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  try {
    const arrivals = new Arrivals();
    // The sequence travels in the first 4 bytes of a message the size of a notification.
    subscriber.on("messageBuffer", (_channel: Buffer, message: Buffer) => arrivals.seen(message.readUInt32BE(0)));
    await subscriber.subscribe(channel);
    const message = Buffer.alloc(PAYLOAD.length);
    const publish = (n: number) => {
      message.writeUInt32BE(n, 0);
      return publisher.publish(channel, message);
    };
    await measure(WARMUP, arrivals, publish, 1);
    return await measure(count, arrivals, publish, WARMUP + 1);
  } finally {
    subscriber.disconnect();
    publisher.disconnect();
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

const runs: { [key in Mode]: () => Promise<number[]> } = { local, redis: acrossRedis, "raw-redis": rawRedis };
const sorted = (await runs[mode]()).sort((x, y) => x - y);
const round = (ms: number) => Math.round(ms * 1000) / 1000;
const where = { local: "one instance, memory bus, inproc", redis: "two instances via Redis, ws clients", "raw-redis": "raw ioredis pub/sub" }[mode];
report({
  value: round(percentile(sorted, 0.99)),
  unit: "ms p99",
  detail: `${where}: p50 ${round(percentile(sorted, 0.5))} ms, p99 ${round(percentile(sorted, 0.99))} ms, max ${round(sorted.at(-1) ?? 0)} ms over ${count} publishes`,
});
