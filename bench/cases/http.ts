// HTTP on the Durable Streams protocol: appends and a catch-up read of one byte stream, our `streamkit
// serve` (LevelDB, a synced group commit per append) beside the protocol's reference Node server
// (`@durable-streams/server`, file-backed, an fdatasync per append), each in a process of its own,
// driven from this process over loopback with keep-alive connections. 200-byte bodies.
//   node bench/cases/http.ts <streamkit|reference> <append|read> [count=20000] [inFlight=1]
// Modes:
//   append  `count` POSTs, `inFlight` at a time (1: one at a time; more: that many connections, each
//           sending its next POST when the last is answered); reports appends/s
//   read    fills the stream with `count` appends (64 in flight, not timed), reads it once to warm up,
//           then times a read from `-1` following Stream-Next-Offset until Stream-Up-To-Date;
//           reports entries/s (200 B each)
import { Agent, request } from "node:http";
import { startReferenceChild } from "../ds-reference.js";
import { cpuPerOp, perSecond, report, timed } from "../harness.js";
import { startServeChild } from "../serve-child.js";
import { RECORD_BYTES } from "../system.js";

const system = process.argv[2] ?? "";
const mode = process.argv[3] ?? "";
const [count = 20_000, inFlight = 1] = process.argv.slice(4).map(Number);
if (!["streamkit", "reference"].includes(system)) throw new TypeError(`system must be streamkit or reference, got ${system}`);
if (!["append", "read"].includes(mode)) throw new TypeError(`mode must be append or read, got ${mode}`);
/** Bounds one request; a stuck server fails the case instead of hanging it. */
const REQUEST_MS = 30_000;
const FILL_IN_FLIGHT = 64;

interface Answer {
  status: number;
  headers: { [name: string]: string | string[] | undefined };
  body: Buffer;
}

const agent = new Agent({ keepAlive: true, maxSockets: Math.max(inFlight, FILL_IN_FLIGHT) });

function send(url: string, method: string, headers: { [name: string]: string } = {}, body?: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers, timeout: REQUEST_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`${method} ${url}: no answer in ${REQUEST_MS} ms`)));
    req.once("error", reject);
    req.end(body);
  });
}

async function expectStatus(answer: Promise<Answer>, what: string, ...statuses: number[]): Promise<Answer> {
  const got = await answer;
  if (!statuses.includes(got.status)) throw new Error(`${what}: HTTP ${got.status} ${got.body.toString("utf8").slice(0, 200)}`);
  return got;
}

const OCTETS = { "content-type": "application/octet-stream" };

/** `total` appends of distinct 200-byte bodies, `concurrency` at a time. */
async function appendAll(streamUrl: string, total: number, concurrency: number): Promise<void> {
  let next = 0;
  const body = Buffer.alloc(RECORD_BYTES);
  async function lane(): Promise<void> {
    while (next < total) {
      const n = next++;
      body.writeUInt32BE(n, 0);
      await expectStatus(send(streamUrl, "POST", OCTETS, Buffer.from(body)), `append ${n}`, 200, 204);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
}

/** Reads the stream from the start to its tail; resolves to the bytes read. */
async function catchUp(streamUrl: string): Promise<number> {
  let offset = "-1";
  let bytes = 0;
  for (;;) {
    const got = await expectStatus(send(`${streamUrl}?offset=${encodeURIComponent(offset)}`, "GET"), `read at ${offset}`, 200, 204);
    bytes += got.body.length;
    const nextOffset = got.headers["stream-next-offset"];
    if (typeof nextOffset !== "string") throw new Error(`read at ${offset}: no Stream-Next-Offset`);
    if (got.headers["stream-up-to-date"] === "true") return bytes;
    if (nextOffset === offset) throw new Error(`read at ${offset}: the offset did not move`);
    offset = nextOffset;
  }
}

const server =
  system === "streamkit"
    ? await startServeChild(["--anonymous-scopes", "streamkit::*"]).then((s) => ({ ...s, url: s.url.replace(/^ws/, "http") }))
    : await startReferenceChild();
try {
  const streamUrl = `${server.url}/v1/stream/bench-${mode}`;
  await expectStatus(send(streamUrl, "PUT", OCTETS), "create", 200, 201);
  const described = system === "streamkit" ? "streamkit serve (LevelDB, synced)" : "@durable-streams/server (file-backed, fdatasync)";
  if (mode === "append") {
    const timing = await timed(() => appendAll(streamUrl, count, inFlight));
    report({
      value: perSecond(count, timing.ms),
      unit: "appends/s",
      detail: `${described}, ${count} POSTs of ${RECORD_BYTES} B, ${inFlight} in flight; client ${cpuPerOp(timing, count)}`,
    });
  } else {
    await appendAll(streamUrl, count, FILL_IN_FLIGHT);
    await catchUp(streamUrl);
    let bytes = 0;
    const timing = await timed(async () => (bytes = await catchUp(streamUrl)));
    if (bytes !== count * RECORD_BYTES) throw new Error(`read ${bytes} bytes, expected ${count * RECORD_BYTES}`);
    report({
      value: perSecond(count, timing.ms),
      unit: "entries/s",
      detail: `${described}, catch-up GET of ${count} appends (${(bytes / 1024 / 1024).toFixed(1)} MiB) from -1`,
      fields: { "MiB/s": Math.round((bytes / 1024 / 1024 / timing.ms) * 1000 * 10) / 10 },
    });
  }
} finally {
  agent.destroy();
  await server.stop();
}
