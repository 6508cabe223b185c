// Many tenants: `stores` new stores, each written once (one 200-byte publish) and then read once
// (peek), `inflight` at a time, over one WebSocket connection to a server in its own process (see
// tenants-server.ts; level layout from argv). Reports the total time, and as figures the errors,
// the server's peak descriptors and RSS, and how much of its RSS and descriptors the idle eviction
// gave back once every store had been idle past the TTL (docs/tenants.md).
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { payloadOf, report, timed } from "../harness.js";
import { BENCH_SECRET, RECORD_BYTES } from "../system.js";
import type { TenantsReply, TenantsRequest, TenantsSample } from "./tenants-server.js";

const layout = process.argv[2] ?? "shared";
const [stores = 100_000, inflight = 32, idleTtlMs = 2_000] = process.argv.slice(3).map(Number);
const MB = 1024 * 1024;
const WARMUP = 2_000;
/** Bound on waiting for idle eviction to close every store after the burst. */
const EVICTION_WAIT_MS = 60_000;

const extension = extname(fileURLToPath(import.meta.url));
const server = fork(fileURLToPath(new URL(`./tenants-server${extension}`, import.meta.url)), [layout, String(idleTtlMs)], {
  execArgv: [
    ...(extension === ".ts" ? ["--import", "tsx"] : []),
    "--expose-gc",
    // With STREAMKIT_BENCH_PROFILE=<dir>, a CPU profile of the server process too.
    ...(process.env.STREAMKIT_BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.STREAMKIT_BENCH_PROFILE}`] : []),
  ],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const replies: ((reply: TenantsReply) => void)[] = [];
server.on("message", (reply: TenantsReply) => replies.shift()?.(reply));
const nextReply = () => new Promise<TenantsReply>((resolve) => replies.push(resolve));
async function ask(request: TenantsRequest): Promise<TenantsSample> {
  const reply = nextReply();
  server.send(request);
  const sample = await reply;
  if (sample.type !== "sample") throw new Error(`unexpected reply ${sample.type}`);
  return sample;
}

/** Runs `task` for 0..count-1, `inflight` at a time; counts the failures by error kind. */
async function pool(count: number, task: (i: number) => Promise<unknown>, errors: Map<string, number>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      try {
        await task(i);
      } catch (error) {
        const kind = (error as { kind?: string }).kind ?? String(error);
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
}

const ready = await nextReply();
if (ready.type !== "ready") throw new Error("the server did not start");
const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "tenants", ttlSec: 3600 });
const client = createClient(createWsProvider(`ws://127.0.0.1:${ready.port}`, { token }));
try {
  // Warm-up on stores of its own, through every path of the burst (publish, evict, reopen, peek, evict),
  // so the baseline already holds the compiled code and the connection.
  const warm = Array.from({ length: WARMUP }, () => randomUUID());
  await pool(warm.length, (i) => client.publish(warm[i] as string, "s", "g", payloadOf(RECORD_BYTES, i)), new Map());
  await waitUntilEvicted();
  await pool(warm.length, (i) => client.peek(warm[i] as string, "s", "g"), new Map());
  await waitUntilEvicted();
  const before = await ask({ type: "reset" });

  const ids = Array.from({ length: stores }, () => randomUUID());
  const errors = new Map<string, number>();
  let wrongReads = 0;
  let writeMs = 0;
  const timing = await timed(async () => {
    const started = performance.now();
    await pool(stores, (i) => client.publish(ids[i] as string, "s", "g", payloadOf(RECORD_BYTES, i)), errors);
    writeMs = performance.now() - started;
    await pool(
      stores,
      async (i) => {
        const entry = await client.peek(ids[i] as string, "s", "g");
        if (entry.sequence !== 1 || entry.payload.byteLength !== RECORD_BYTES) wrongReads++;
      },
      errors,
    );
  });
  const burst = await ask({ type: "sample" });
  const after = await waitUntilEvicted();
  const errorCount = [...errors.values()].reduce((sum, n) => sum + n, 0) + wrongReads;
  const rssBack = Math.round((after.rss / before.rss) * 1000) / 10;
  const descriptorsBack = Math.round((after.descriptors / before.descriptors) * 1000) / 10;
  report({
    value: Math.round(timing.ms / 100) / 10,
    unit: "s",
    detail:
      `${layout} layout, ${stores} stores × (publish + peek), ${inflight} in flight, ${Math.round((stores * 2 * 1000) / timing.ms)} ops/s (publishes ${Math.round(writeMs)} ms, peeks ${Math.round(timing.ms - writeMs)} ms); ` +
      `errors ${errorCount}${errors.size > 0 ? ` ${JSON.stringify(Object.fromEntries(errors))}` : ""}; ` +
      `peak ${burst.peakDescriptors} descriptors, peak RSS ${Math.round(burst.peakRss / MB)} MB (maxOpenStores ${burst.maxOpenStores}); ` +
      `after idle eviction: RSS ${Math.round(after.rss / MB)} MB vs ${Math.round(before.rss / MB)} MB before (${rssBack} %; heap used ${Math.round(after.heapUsed / MB)} MB vs ${Math.round(before.heapUsed / MB)} MB, ` +
      `heap total ${Math.round(after.heapTotal / MB)} MB vs ${Math.round(before.heapTotal / MB)} MB), ` +
      `descriptors ${after.descriptors} vs ${before.descriptors} (${descriptorsBack} %)`,
    fields: {
      errors: errorCount,
      peakDescriptors: burst.peakDescriptors,
      peakRssMB: Math.round(burst.peakRss / MB),
      rssAfterIdlePercent: rssBack,
      descriptorsAfterIdlePercent: descriptorsBack,
    },
  });
} finally {
  await client.close();
  server.send({ type: "stop" } satisfies TenantsRequest);
  await new Promise<void>((resolve) => {
    if (server.exitCode !== null) return resolve();
    server.once("exit", () => resolve());
  });
}

/** Waits (bounded) until idle eviction has closed every store; the sample after gc. */
async function waitUntilEvicted(): Promise<TenantsSample> {
  const deadline = performance.now() + EVICTION_WAIT_MS;
  for (;;) {
    const sample = await ask({ type: "sample" });
    if (sample.openStores === 0) return sample;
    if (performance.now() > deadline) throw new Error(`${sample.openStores} stores still open ${EVICTION_WAIT_MS} ms after the burst`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
