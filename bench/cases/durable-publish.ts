// Durable writes of 200-byte records, acknowledged only once stored, the server in a process of its
// own: `count` writes with up to `inFlight` unacknowledged. Reports acknowledged records/s.
//   node bench/cases/durable-publish.ts <system> [count=50000] [inFlight=64]
// Systems:
//   streamkit-publish  client.publish over ws to `streamkit serve` (LevelDB, synced writes)
//   streamkit-produce  client.produce, batches of 100 records (count records in all)
//   streamkit-idempotent     client.publish with a producer identity, to one segment
//   streamkit-idempotent-16  the same, round-robin over 16 segments
//   redis-always       XADD to a private redis-server (this case starts it, TCP on 127.0.0.1, temp
//   redis-everysec     dir) with appendonly yes and appendfsync always / everysec
//   nats               JetStream publish to a file-storage stream at 127.0.0.1:4222
// A peer that cannot run here reports "not measured".
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { connect as natsConnect, StorageType } from "nats";
import type { Record } from "../../pkg/api/index.js";
import { createClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { reachable, runPublisher } from "../fanout-support.js";
import { cpuPerOp, report, timed } from "../harness.js";
import { startPrivateRedis } from "../private-redis.js";
import { startServeChild } from "../serve-child.js";
import { BENCH_SECRET, RECORD_BYTES } from "../system.js";

const system = process.argv[2] ?? "";
const [count = 50_000, inFlight = 64] = process.argv.slice(3).map(Number);
const SYSTEMS = ["streamkit-publish", "streamkit-produce", "streamkit-idempotent", "streamkit-idempotent-16", "redis-always", "redis-everysec", "nats"];
if (!SYSTEMS.includes(system)) throw new TypeError(`system must be one of ${SYSTEMS.join(", ")}, got ${system}`);
const payload = new Uint8Array(RECORD_BYTES).fill(42);
const BATCH = 100;

interface Writer {
  description: string;
  /** Writes one unit (a record, or a batch of BATCH records for produce) and resolves once it is durable. */
  write(index: number): Promise<unknown>;
  /** Records per write. */
  perWrite: number;
  close(): Promise<void>;
}

/** Stamped publishes (docs/protocol.md, Idempotent publish), round-robin over `segments` segments. */
async function idempotent(segments: number): Promise<Writer> {
  const server = await startServeChild();
  const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "bench", ttlSec: 3600 });
  const client = createClient(createWsProvider(server.url, { token }));
  const storeId = randomUUID();
  const producer = { id: "bench", epoch: 0 };
  await client.publish(storeId, "warm-up", "w", payload, { producer });
  return {
    description: `streamkit serve (LevelDB), idempotent publish (a producer identity) to ${segments} segment(s), ${inFlight} in flight`,
    write: (index) => client.publish(storeId, "bench", `p-${index % segments}`, payload, { producer }),
    perWrite: 1,
    async close() {
      await client.close();
      await server.stop();
    },
  };
}

async function streamkit(produce: boolean): Promise<Writer> {
  const server = await startServeChild();
  const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "bench", ttlSec: 3600 });
  const client = createClient(createWsProvider(server.url, { token }));
  const storeId = randomUUID();
  await client.publish(storeId, "warm-up", "w", payload);
  const records: Record[] = Array.from({ length: count }, (_, i) => ({ sequence: i + 1, payload }));
  return {
    description: produce
      ? `streamkit serve (LevelDB), one produce of batches of ${BATCH} to one segment (the SDK pipelines them on one stream)`
      : `streamkit serve (LevelDB), publish, ${inFlight} in flight`,
    // A segment's batches must arrive in order: one produce call carries them all, pipelined.
    write: produce ? () => client.produce(storeId, "bench", "s", records, { batchSize: BATCH }) : () => client.publish(storeId, "bench", "p", payload),
    perWrite: produce ? count : 1,
    async close() {
      await client.close();
      await server.stop();
    },
  };
}

/** A redis-server of this case's own, so its fsync setting touches no one else. */
async function privateRedis(fsync: "always" | "everysec"): Promise<Writer | string> {
  const server = await startPrivateRedis(["--save", "", "--appendonly", "yes", "--appendfsync", fsync]);
  if (typeof server === "string") return server;
  const redis = new Redis({ host: "127.0.0.1", port: server.port });
  const buffer = Buffer.from(payload);
  return {
    description: `XADD to a private redis-server (appendonly yes, appendfsync ${fsync}), ${inFlight} in flight (pipelined on one connection)`,
    write: () => redis.xadd("bench", "*", "p", buffer),
    perWrite: 1,
    async close() {
      redis.disconnect();
      await server.stop();
    },
  };
}

async function nats(): Promise<Writer | string> {
  if (!(await reachable("127.0.0.1", 4222))) return "NATS is not reachable at 127.0.0.1:4222";
  const nc = await natsConnect({ servers: "127.0.0.1:4222" });
  const name = `bench_publish_${randomUUID().replaceAll("-", "")}`;
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [name], storage: StorageType.File });
  const js = nc.jetstream();
  return {
    description: `NATS JetStream publish (file storage, acked), ${inFlight} in flight`,
    write: () => js.publish(name, payload),
    perWrite: 1,
    async close() {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}

const writers: { [name: string]: () => Promise<Writer | string> } = {
  "streamkit-publish": () => streamkit(false),
  "streamkit-produce": () => streamkit(true),
  "streamkit-idempotent": () => idempotent(1),
  "streamkit-idempotent-16": () => idempotent(16),
  "redis-always": () => privateRedis("always"),
  "redis-everysec": () => privateRedis("everysec"),
  nats,
};
const writer = await (writers[system] as () => Promise<Writer | string>)();
if (typeof writer === "string") {
  report({ value: 0, unit: "records/s", notMeasured: writer });
} else {
  try {
    const writes = Math.ceil(count / writer.perWrite);
    const timing = await timed(() => runPublisher({ rate: 0, seconds: 600, maxInFlight: inFlight, maxCount: writes, publish: (index) => writer.write(index) }));
    const records = writes * writer.perWrite;
    report({
      value: Math.round((records / timing.ms) * 1000),
      unit: "records/s",
      detail: `${writer.description}; ${records} records of ${RECORD_BYTES} B; client ${cpuPerOp(timing, records)}`,
    });
  } finally {
    await writer.close();
  }
}
