// Fan-out: one publisher, `followers` live readers of one stream spread over `connections`
// connections, the server in a process of its own and every client in this one. The publisher sends
// 200-byte records at `rate` per second (0: unthrottled, up to 512 in flight) for `seconds`; then
// every reader must get every record. Reports delivered entries/s (all readers together, from the
// first publish to the last delivery), lag p50/p99 (delivery time minus the server's commit
// timestamp, whole ms, same machine clock) and the server's peak RSS while it ran.
//   node bench/cases/fanout.ts <streamkit|nats|redis> [followers=1000] [connections=50] [rate=1000] [seconds=5]
// Peers: NATS JetStream ordered consumers on a file-storage stream at 127.0.0.1:4222; Redis Streams
// readers, each looping XREAD BLOCK (several per connection: ioredis pipelines them) at
// STREAMKIT_REDIS_URL or 127.0.0.1:6379. A peer that is not reachable reports "not measured".
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { connect as natsConnect, type NatsConnection, StorageType } from "nats";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { LagHistogram, MB, reachable, runPublisher, until } from "../fanout-support.js";
import { report } from "../harness.js";
import { rssOf, startServeChild } from "../serve-child.js";
import { BENCH_SECRET, RECORD_BYTES } from "../system.js";

type System = "streamkit" | "nats" | "redis";
const systemArg = process.argv[2];
if (systemArg !== "streamkit" && systemArg !== "nats" && systemArg !== "redis") {
  throw new TypeError(`system must be streamkit, nats or redis, got ${String(systemArg)}`);
}
const system: System = systemArg;
const [followers = 1000, connections = 50, rate = 1000, seconds = 5] = process.argv.slice(3).map(Number);
const MAX_IN_FLIGHT = 512;
/** Bounds the run whatever the machine: deliveries (publishes × followers) at most this many. */
const MAX_DELIVERIES = 5_000_000;
const MAX_PUBLISHES = Math.max(1, Math.floor(MAX_DELIVERIES / followers));
/** How long readers may take to get everything once the publisher stops; past it the run reports what came. */
const DRAIN_MS = 90_000;
const SETUP_MS = 120_000;
const redisUrl = process.env.STREAMKIT_REDIS_URL || "redis://127.0.0.1:6379";

/** One reader's deliveries: every entry counts; lags are those of the measured (non-marker) ones. */
class Deliveries {
  readonly lag = new LagHistogram();
  delivered = 0;
  ready = 0;
  lastAt = 0;
  onChange: () => void = () => undefined;

  /** A reader got its first entry (the marker published before the run): it is reading live. */
  readerReady(): void {
    this.ready++;
    this.onChange();
  }

  entry(committedAt: number): void {
    const now = Date.now();
    this.delivered++;
    this.lastAt = performance.now();
    this.lag.add(now - committedAt);
    this.onChange();
  }
}

/** What each system provides: readers started, a publisher, the server's pid, and cleanup. */
interface Peer {
  description: string;
  /** Starts `followers` readers, each calling `marker` for its first entry and `entry` for the rest. */
  startReaders(deliveries: Deliveries, stop: AbortSignal): Promise<void>[];
  publish(index: number, payload: Uint8Array): Promise<unknown>;
  /** Publishes the marker every reader sees first. */
  publishMarker(payload: Uint8Array): Promise<unknown>;
  serverRss(): Promise<number>;
  close(): Promise<void>;
}

function pidOf(name: string): number | undefined {
  try {
    const pid = Number(execFileSync("pidof", ["-s", name], { encoding: "utf8" }).trim());
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function streamkitPeer(): Promise<Peer> {
  const server = await startServeChild();
  const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "bench", ttlSec: 3600 });
  const clients: StreamsClient[] = Array.from({ length: connections }, () => createClient(createWsProvider(server.url, { token })));
  const publisher = createClient(createWsProvider(server.url, { token }));
  const storeId = randomUUID();
  return {
    description: `streamkit serve (LevelDB), ${followers} consumeSpace follows on ${connections} ws connections, publisher on its own`,
    startReaders(deliveries, stop) {
      return Array.from({ length: followers }, async (_, index) => {
        const client = clients[index % connections] as StreamsClient;
        let first = true;
        for await (const entry of client.consumeSpace(storeId, { space: "fan", follow: true }, { signal: stop })) {
          if (first) {
            first = false;
            deliveries.readerReady();
          } else deliveries.entry(entry.timestamp);
        }
      });
    },
    publish: (_index, payload) => publisher.publish(storeId, "fan", "p", payload),
    publishMarker: (payload) => publisher.publish(storeId, "fan", "p", payload),
    serverRss: () => server.rss(),
    async close() {
      await Promise.all([...clients, publisher].map((client) => client.close()));
      await server.stop();
    },
  };
}

async function natsPeer(): Promise<Peer | string> {
  if (!(await reachable("127.0.0.1", 4222))) return "NATS is not reachable at 127.0.0.1:4222";
  const connectionsList: NatsConnection[] = await Promise.all(Array.from({ length: connections }, () => natsConnect({ servers: "127.0.0.1:4222" })));
  const publisherConnection = await natsConnect({ servers: "127.0.0.1:4222" });
  const name = `bench_fanout_${randomUUID().replaceAll("-", "")}`;
  const jsm = await publisherConnection.jetstreamManager();
  await jsm.streams.add({ name, subjects: [name], storage: StorageType.File });
  const js = publisherConnection.jetstream();
  const pid = pidOf("nats-server");
  // One abort listener for every reader (the stop signal is shared).
  const closers: (() => void)[] = [];
  let stopping: AbortSignal | undefined;
  return {
    description: `NATS JetStream (file storage), ${followers} ordered consumers on ${connections} connections, publisher on its own`,
    startReaders(deliveries, stop) {
      if (stopping !== stop) {
        stopping = stop;
        stop.addEventListener("abort", () => closers.forEach((close) => close()), { once: true });
      }
      return Array.from({ length: followers }, async (_, index) => {
        const nc = connectionsList[index % connections] as NatsConnection;
        const consumer = await nc.jetstream().consumers.get(name);
        const messages = await consumer.consume();
        closers.push(() => void messages.close());
        let first = true;
        for await (const message of messages) {
          if (first) {
            first = false;
            deliveries.readerReady();
          } else deliveries.entry(message.info.timestampNanos / 1e6);
        }
      });
    },
    publish: (_index, payload) => js.publish(name, payload),
    publishMarker: (payload) => js.publish(name, payload),
    serverRss: () => (pid === undefined ? Promise.resolve(Number.NaN) : rssOf(pid)),
    async close() {
      await jsm.streams.delete(name).catch(() => undefined);
      await Promise.all([...connectionsList, publisherConnection].map((nc) => nc.close()));
    },
  };
}

async function redisPeer(): Promise<Peer | string> {
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } catch {
    probe.disconnect();
    return `Redis is not reachable at ${redisUrl}`;
  }
  const readers = Array.from({ length: connections }, () => new Redis(redisUrl));
  const key = `bench:fanout:${randomUUID()}`;
  const pid = pidOf("redis-server");
  return {
    description: `Redis Streams (as configured: appendonly ${String((await probe.config("GET", "appendonly"))[1])}), ${followers} XREAD BLOCK readers pipelined on ${connections} connections, XADD publisher on its own`,
    startReaders(deliveries, stop) {
      return Array.from({ length: followers }, async (_, index) => {
        const redis = readers[index % connections] as Redis;
        let last = "0";
        let first = true;
        while (!stop.aborted) {
          // A short block, so a stopped reader ends soon; each reply carries everything new.
          const reply = (await redis.xreadBuffer("COUNT", 1000, "BLOCK", 1000, "STREAMS", key, last));
          if (reply === null) continue;
          for (const [, entries] of reply) {
            for (const [id] of entries) {
              last = id.toString();
              if (first) {
                first = false;
                deliveries.readerReady();
              } else deliveries.entry(Number(last.slice(0, last.indexOf("-"))));
            }
          }
        }
      });
    },
    publish: (_index, payload) => probe.xadd(key, "*", "p", Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)),
    publishMarker: (payload) => probe.xadd(key, "*", "p", Buffer.from(payload)),
    serverRss: () => (pid === undefined ? Promise.resolve(Number.NaN) : rssOf(pid)),
    async close() {
      await probe.del(key).catch(() => undefined);
      probe.disconnect();
      for (const redis of readers) redis.disconnect();
    },
  };
}

const peers: { [key in System]: () => Promise<Peer | string> } = { streamkit: streamkitPeer, nats: natsPeer, redis: redisPeer };
const peer = await peers[system]();
if (typeof peer === "string") {
  report({ value: 0, unit: "entries/s delivered", notMeasured: peer });
} else {
  const stop = new AbortController();
  const deliveries = new Deliveries();
  const payload = new Uint8Array(RECORD_BYTES).fill(42);
  let rssPeak = 0;
  const sampling = setInterval(() => {
    void peer.serverRss().then((rss) => (rssPeak = Math.max(rssPeak, rss)));
  }, 200);
  try {
    await peer.publishMarker(payload);
    const rssBefore = await peer.serverRss();
    const ready = until(() => deliveries.ready === followers, () => `${deliveries.ready} of ${followers} readers ready`, SETUP_MS);
    deliveries.onChange = ready.poke;
    const reading = peer.startReaders(deliveries, stop.signal).map((reader) =>
      reader.catch((error: unknown) => {
        if (!stop.signal.aborted) throw error;
      }),
    );
    const failed = Promise.all(reading).then(() => {
      if (!stop.signal.aborted) throw new Error("a reader ended early");
    });
    failed.catch(() => undefined);
    await Promise.race([ready.reached, failed]);
    rssPeak = await peer.serverRss();

    const started = performance.now();
    const publishing = await runPublisher({
      rate,
      seconds,
      maxInFlight: MAX_IN_FLIGHT,
      maxCount: MAX_PUBLISHES,
      publish: () => peer.publish(0, payload),
    });
    const expected = publishing.published * followers;
    const drained = until(() => deliveries.delivered >= expected, () => `${deliveries.delivered} of ${expected} deliveries`, DRAIN_MS);
    deliveries.onChange = drained.poke;
    const complete = await Promise.race([drained.reached.then(() => true), failed]).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith("timed out")) return false;
      throw error;
    });
    const elapsed = deliveries.lastAt - started;
    const rssEnd = await peer.serverRss();
    rssPeak = Math.max(rssPeak, rssEnd);
    const p50 = deliveries.lag.percentile(0.5);
    const p99 = deliveries.lag.percentile(0.99);
    const deliveredPerSecond = Math.round((deliveries.delivered / elapsed) * 1000);
    const publishRate = Math.round((publishing.published / publishing.ms) * 1000);
    report({
      value: deliveredPerSecond,
      unit: "entries/s delivered",
      fields: { "lag p50 ms": p50, "lag p99 ms": p99, "server RSS MB": Math.round(rssPeak / MB) },
      detail:
        `${peer.description}; ${publishing.published} publishes at ${publishRate}/s (asked ${rate === 0 ? "unthrottled, 512 in flight" : `${rate}/s`}), ` +
        `${deliveries.delivered} deliveries${complete === true ? "" : ` of ${expected} (INCOMPLETE after ${DRAIN_MS / 1000} s of draining)`}; lag p50 ${p50} ms, p99 ${p99} ms; server RSS ${Math.round(rssBefore / MB)} MB with readers idle, peak ${Math.round(rssPeak / MB)} MB`,
    });
  } finally {
    clearInterval(sampling);
    stop.abort();
    await peer.close();
  }
}
