// Catch-up read: `count` entries of 200 bytes already stored, read once from the start by one reader
// over the network, the server in a process of its own. Reports entries/s over the read alone (the
// fill is not timed), and the CPU time the client and the server process spent per entry over it
// (the server's counts all its threads, LevelDB compactions after the fill included).
//   node bench/cases/catch-up.ts <streamkit|redis|nats> [count=1000000]
// Systems:
//   streamkit  consumeSpace from offset "" with follow (a catch-up subscription: history, then live),
//              stopped at `count`, against `streamkit serve` (LevelDB)
//   redis      XRANGE in pages of 1,000 against a private redis-server (appendonly no; filled with
//              pipelined XADD)
//   nats       a JetStream ordered consumer on a file-storage stream at 127.0.0.1:4222 (filled by core
//              publishes to the stream's subject, then waited on until the stream holds them all)
// A peer that cannot run here reports "not measured".
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { connect as natsConnect, StorageType } from "nats";
import type { Record } from "../../pkg/api/index.js";
import { createClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { setTimeout as sleep } from "node:timers/promises";
import { reachable } from "../fanout-support.js";
import { cpuPerOp, report, timed } from "../harness.js";
import { startPrivateRedis } from "../private-redis.js";
import { cpuMsOf, startServeChild } from "../serve-child.js";
import { BENCH_SECRET, RECORD_BYTES } from "../system.js";

const system = process.argv[2] ?? "";
const [count = 1_000_000] = process.argv.slice(3).map(Number);
if (!["streamkit", "redis", "nats"].includes(system)) throw new TypeError(`system must be streamkit, redis or nats, got ${system}`);
const payload = new Uint8Array(RECORD_BYTES).fill(42);
/** Records per produce batch, XADD pipeline and core-publish flush while filling. */
const FILL_BATCH = 1_000;
/** Bounds the fill's wait for JetStream to store everything. */
const FILL_MS = 300_000;

interface Reader {
  description: string;
  /** The server process, whose CPU time over the read is reported beside the client's (undefined: not ours to see). */
  serverPid?: number;
  /** Reads `count` entries from the start; resolves to how many came. */
  read(): Promise<number>;
  close(): Promise<void>;
}

async function streamkit(): Promise<Reader> {
  const server = await startServeChild();
  const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "bench", ttlSec: 3600 });
  const client = createClient(createWsProvider(server.url, { token }));
  const storeId = randomUUID();
  function* records(): Generator<Record> {
    for (let sequence = 1; sequence <= count; sequence++) yield { sequence, payload };
  }
  await client.produce(storeId, "catch-up", "s", records(), { batchSize: FILL_BATCH });
  return {
    description: "streamkit serve (LevelDB), consumeSpace from the start with follow, one ws connection",
    serverPid: server.pid,
    async read() {
      let seen = 0;
      for await (const _entry of client.consumeSpace(storeId, { space: "catch-up", follow: true })) if (++seen === count) break;
      return seen;
    },
    async close() {
      await client.close();
      await server.stop();
    },
  };
}

async function redis(): Promise<Reader | string> {
  const server = await startPrivateRedis(["--save", "", "--appendonly", "no"]);
  if (typeof server === "string") return server;
  const client = new Redis({ host: "127.0.0.1", port: server.port });
  const buffer = Buffer.from(payload);
  for (let written = 0; written < count; written += FILL_BATCH) {
    const pipeline = client.pipeline();
    for (let i = written; i < Math.min(count, written + FILL_BATCH); i++) pipeline.xadd("bench", "*", "p", buffer);
    await pipeline.exec();
  }
  return {
    description: "XRANGE pages of 1,000 (exclusive start after the last id), private redis-server, appendonly no",
    serverPid: server.pid,
    async read() {
      let seen = 0;
      let start = "-";
      for (;;) {
        const page = await client.xrangeBuffer("bench", start, "+", "COUNT", 1000);
        if (page.length === 0) return seen;
        seen += page.length;
        start = `(${(page.at(-1) as [Buffer, Buffer[]])[0].toString()}`;
      }
    },
    async close() {
      client.disconnect();
      await server.stop();
    },
  };
}

async function nats(): Promise<Reader | string> {
  if (!(await reachable("127.0.0.1", 4222))) return "NATS is not reachable at 127.0.0.1:4222";
  const nc = await natsConnect({ servers: "127.0.0.1:4222" });
  const name = `bench_catchup_${randomUUID().replaceAll("-", "")}`;
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [name], storage: StorageType.File });
  for (let written = 0; written < count; written += FILL_BATCH) {
    for (let i = written; i < Math.min(count, written + FILL_BATCH); i++) nc.publish(name, payload);
    await nc.flush();
  }
  const deadline = performance.now() + FILL_MS;
  while ((await jsm.streams.info(name)).state.messages < count) {
    if (performance.now() > deadline) throw new Error(`JetStream did not store ${count} messages in ${FILL_MS} ms`);
    await sleep(200);
  }
  const js = nc.jetstream();
  return {
    description: "NATS JetStream ordered consumer (file storage), consume() from the start",
    async read() {
      const consumer = await js.consumers.get(name);
      const messages = await consumer.consume();
      let seen = 0;
      for await (const _message of messages) {
        if (++seen === count) break;
      }
      await messages.close();
      return seen;
    },
    async close() {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}

const readers: { [name: string]: () => Promise<Reader | string> } = { streamkit, redis, nats };
const reader = await (readers[system] as () => Promise<Reader | string>)();
if (typeof reader === "string") {
  report({ value: 0, unit: "entries/s", notMeasured: reader });
} else {
  try {
    let seen = 0;
    const serverCpuMs = reader.serverPid === undefined ? Number.NaN : await cpuMsOf(reader.serverPid);
    const timing = await timed(async () => (seen = await reader.read()));
    if (seen !== count) throw new Error(`read ${seen} entries, expected ${count}`);
    // Server CPU per entry does not depend on how the shared machine's load slowed the read.
    const serverCpu = reader.serverPid === undefined ? Number.NaN : (await cpuMsOf(reader.serverPid)) - serverCpuMs;
    const server = Number.isNaN(serverCpu) ? "" : `; server ${((serverCpu * 1000) / count).toFixed(1)} µs CPU/op`;
    report({
      value: Math.round((count / timing.ms) * 1000),
      unit: "entries/s",
      detail: `${reader.description}; ${count} entries of ${RECORD_BYTES} B; client ${cpuPerOp(timing, count)}${server}`,
    });
  } finally {
    await reader.close();
  }
}
