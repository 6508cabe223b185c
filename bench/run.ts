// `npm run bench [-- filter…] [--quick] [--reps=N] [--tsx]`: compiles the project with tsc (so the
// cases run the JavaScript users run: tsx's transform adds a per-closure cost of its own), runs every
// bench case, each run in a fresh Node process, `reps` times interleaved (ours and raw baselines
// alternate, so a slow moment on this shared machine hits both), and prints one table of medians with
// each target's ✓/✗. `--tsx` skips the build and runs the TypeScript sources through tsx.
// A CPU profile of each case's measured section: STREAMKIT_BENCH_PROFILE=<dir> npm run bench -- <filter>.
// A CPU profile of the `streamkit serve` process a case starts: STREAMKIT_BENCH_SERVER_PROFILE=<dir>;
// `node --import tsx bench/profile-top.ts <file.cpuprofile>` prints its heaviest frames.
//
// Adding a row is one line in ROWS below:
//   row("notify latency p99, ws", measure("notify-latency", ["ws"]), { target: atMost(10) }),
// where bench/cases/notify-latency.ts prints its result with `report({ value, unit })` (harness.ts).
// A row may name a raw LevelDB, a raw ws and a raw pg baseline (`level:`, `ws:`, `pg:`); `ratio(x)`
// targets compare ours with the LevelDB one, `ratio(x, "pg")` with the pg one. Filters select rows
// whose name contains any of them (case-insensitive); only the measurements those rows need run.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildProject } from "./build.js";
import { type CaseResult, runCase } from "./harness.js";
import { atLeast, atMost, measure, measurementsOf, ratio, relative, row, type Row } from "./plan.js";
import { formatNumber, renderTable, type Results } from "./table.js";

interface Options {
  quick: boolean;
  reps: number;
  tsx: boolean;
  filters: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, reps: 3, tsx: false, filters: [] };
  for (const arg of argv) {
    if (arg === "--quick") options.quick = true;
    else if (arg === "--tsx") options.tsx = true;
    else if (arg.startsWith("--reps=")) options.reps = Number(arg.slice("--reps=".length));
    else if (arg.startsWith("--")) throw new TypeError(`unknown option ${arg} (known: --quick, --reps=N, --tsx)`);
    else options.filters.push(arg.toLowerCase());
  }
  if (!Number.isSafeInteger(options.reps) || options.reps < 1) throw new TypeError("--reps must be a positive integer");
  return options;
}

const options = parseArgs(process.argv.slice(2));
const { quick } = options;

// Sizes: 200-byte records in batches of 100 throughout (the cases' defaults); --quick shrinks counts.
const RECORDS = quick ? 20_000 : 100_000;
const PUBLISHES = quick ? 10_000 : 50_000;
const IDLE = quick ? 1_000 : 10_000;
const NOTIFIES = quick ? 500 : 2_000;
const FOLLOW_SECONDS = quick ? 2 : 5;
const FANOUT_SECONDS = quick ? 3 : 5;
const DURABLE = quick ? 10_000 : 50_000;

/**
 * Fan-out (server process + client process): delivered entries/s, lag p99 and server RSS of one run
 * each, for streamkit and its peers (NATS JetStream ordered consumers, Redis XREAD BLOCK readers).
 */
function fanoutRows(rate: number, followers = 1000, connections = 50): Row[] {
  const label = rate === 0 ? "unthrottled (512 in flight)" : `${rate.toLocaleString("en-US")} publishes/s`;
  return (["streamkit", "nats", "redis"] as const).flatMap((system) => {
    const run = measure("fanout", [system, followers, connections, rate, FANOUT_SECONDS], 300_000);
    const name = `fan-out ${followers.toLocaleString("en-US")} followers / ${connections} conns, ${label}, ${system}`;
    return [
      row(`${name}: delivered`, run),
      row(`${name}: lag p99`, run, { field: "lag p99 ms" }),
      row(`${name}: server RSS`, run, { field: "server RSS MB" }),
    ];
  });
}

/** Durable writes of 200 B records, server in its own process, beside Redis XADD and JetStream publish. */
const durableRows: Row[] = [
  row("durable publish 64 in flight, streamkit serve", measure("durable-publish", ["streamkit-publish", DURABLE, 64])),
  row("durable produce (batches of 100), streamkit serve", measure("durable-publish", ["streamkit-produce", DURABLE, 64])),
  row("durable idempotent publish 64 in flight, one segment, streamkit serve", measure("durable-publish", ["streamkit-idempotent", DURABLE, 64])),
  row("durable idempotent publish 64 in flight, 16 segments, streamkit serve", measure("durable-publish", ["streamkit-idempotent-16", DURABLE, 64])),
  row("Redis XADD 64 in flight, appendfsync always", measure("durable-publish", ["redis-always", DURABLE, 64])),
  row("Redis XADD 64 in flight, appendfsync everysec", measure("durable-publish", ["redis-everysec", DURABLE, 64])),
  row("NATS JetStream publish 64 in flight", measure("durable-publish", ["nats", DURABLE, 64])),
];

/** Catch-up read of 1M stored entries from the start, server in its own process, beside Redis XRANGE and a JetStream ordered consumer. */
const CATCH_UP = quick ? 100_000 : 1_000_000;
const catchUp = (system: string) => measure("catch-up", [system, CATCH_UP], 600_000);
const CATCH_UP_LABEL = `catch-up read of ${CATCH_UP.toLocaleString("en-US")} entries`;
const catchUpRows: Row[] = [
  row(`${CATCH_UP_LABEL}, streamkit consumeSpace`, catchUp("streamkit"), { target: relative(1, catchUp("redis"), "Redis XRANGE") }),
  row(`${CATCH_UP_LABEL}, Redis XRANGE`, catchUp("redis")),
  row(`${CATCH_UP_LABEL}, NATS JetStream ordered consumer`, catchUp("nats")),
];

/**
 * HTTP on the Durable Streams protocol (docs/http.md): appends and a catch-up read, `streamkit serve`
 * beside the protocol's reference Node server (file-backed), both synced per acknowledged append.
 */
const HTTP_APPENDS = quick ? 2_000 : 10_000;
const HTTP_READ = quick ? 20_000 : 100_000;
const http = (system: string, mode: string, count: number, inFlight = 1) => measure("http", [system, mode, count, inFlight], 300_000);
const httpRows: Row[] = [
  row("HTTP append one at a time, streamkit serve", http("streamkit", "append", HTTP_APPENDS / 5), {
    target: relative(2, http("reference", "append", HTTP_APPENDS / 5), "reference server"),
  }),
  row("HTTP append one at a time, Durable Streams reference server", http("reference", "append", HTTP_APPENDS / 5)),
  row("HTTP append 64 in flight, streamkit serve", http("streamkit", "append", HTTP_APPENDS, 64), {
    target: relative(2, http("reference", "append", HTTP_APPENDS, 64), "reference server"),
  }),
  row("HTTP append 64 in flight, Durable Streams reference server", http("reference", "append", HTTP_APPENDS, 64)),
  row("HTTP catch-up read, streamkit serve", http("streamkit", "read", HTTP_READ), { target: relative(1, http("reference", "read", HTTP_READ), "reference server") }),
  row("HTTP catch-up read, Durable Streams reference server", http("reference", "read", HTTP_READ)),
];

// Many tenants (docs/tenants.md): stores written once then read once, server in its own process.
const TENANTS = quick ? 10_000 : 100_000;
const TENANTS_PER_STORE = quick ? 2_000 : 10_000;
const TENANTS_RUN = measure("tenants", ["shared", TENANTS, 32, 2_000], 1_200_000);
const TENANTS_PER_STORE_RUN = measure("tenants", ["per-store", TENANTS_PER_STORE, 32, 2_000], 600_000);
const PRODUCE_WS = measure("produce", ["ws", RECORDS, 100, 1]);

// PostgreSQL (STREAMKIT_POSTGRES_URL; rows print "not measured" when it does not answer).
const PG_RECORDS = quick ? 20_000 : 50_000;
const PG_PUBLISHES = quick ? 5_000 : 20_000;
const PG_ORDERING_BATCHES = quick ? 10 : 30;
const PG = "store=postgres";
const RAW_PG_WRITE = measure("raw-pg-write", [PG_RECORDS / 100, 100, 200]);
const RAW_WRITE = measure("raw-level-write", [RECORDS / 100, 100, 200]);
const RAW_SCAN = measure("raw-level-scan", [RECORDS, 200]);
// What 64 publishes in flight can reach at best: one synced write per 64 records, back to back.
const RAW_WRITE_64 = measure("raw-level-write", [Math.ceil(PUBLISHES / 64), 64, 200]);
const RAW_UPLOAD = measure("raw-ws", ["upload", RECORDS, 100, 16]);
const RAW_DOWNLOAD = measure("raw-ws", ["download", RECORDS, 100]);

const ROWS: Row[] = [
  row("raw LevelDB synced chained batch write", RAW_WRITE),
  row("raw LevelDB synced write, 64 records each", RAW_WRITE_64),
  row("raw LevelDB scan (nextv)", RAW_SCAN),
  row("raw ws upload (acked, 16 in flight)", RAW_UPLOAD),
  row("raw ws download", RAW_DOWNLOAD),
  row("durable produce, inproc", measure("produce", ["inproc", RECORDS, 100, 1]), { level: RAW_WRITE, target: ratio(0.8) }),
  row("produce during a sweep of 1M expired entries (% of no sweep)", measure("sweep-while-producing", [1_000_000, 400, 100, 200], 300_000), { target: atLeast(80) }),
  row("durable produce, inproc, 4 segments", measure("produce", ["inproc", RECORDS, 100, 4]), { level: RAW_WRITE }),
  row("durable produce, ws", PRODUCE_WS, { level: RAW_WRITE, ws: RAW_UPLOAD, target: ratio(0.8) }),
  row("durable produce, ws, 4 segments", measure("produce", ["ws", RECORDS, 100, 4]), { level: RAW_WRITE, ws: RAW_UPLOAD }),
  row("publish 64 in flight, inproc", measure("publish", ["inproc", PUBLISHES, 64]), { level: RAW_WRITE_64, target: atLeast(50_000) }),
  row("publish 64 in flight, ws", measure("publish", ["ws", PUBLISHES, 64]), { level: RAW_WRITE_64, ws: RAW_UPLOAD, target: atLeast(50_000) }),
  row("consume segment, inproc", measure("consume-segment", ["inproc", RECORDS]), { level: RAW_SCAN, target: ratio(0.8) }),
  row("consume segment, ws", measure("consume-segment", ["ws", RECORDS]), { level: RAW_SCAN, ws: RAW_DOWNLOAD, target: ratio(0.8) }),
  row("consume space, inproc", measure("consume-space", ["inproc", RECORDS, 10]), { level: RAW_SCAN, target: ratio(0.8) }),
  row("consume space, ws", measure("consume-space", ["ws", RECORDS, 10]), { level: RAW_SCAN, ws: RAW_DOWNLOAD, target: ratio(0.8) }),
  row("durable produce over 1,000 stores, ws", measure("produce-stores", ["ws", RECORDS, 100, 1_000]), {
    target: relative(1, PRODUCE_WS, "one store"),
  }),
  row(`${TENANTS} stores publish + peek, 32 in flight, ws, shared layout`, TENANTS_RUN),
  row(`${TENANTS} stores: errors`, TENANTS_RUN, { field: "errors", target: atMost(0) }),
  row(`${TENANTS} stores: server peak descriptors`, TENANTS_RUN, { field: "peakDescriptors", target: atMost(999) }),
  row(`${TENANTS} stores: server peak RSS (MB)`, TENANTS_RUN, { field: "peakRssMB", target: atMost(1023) }),
  row(`${TENANTS} stores: RSS after idle TTL (% of before)`, TENANTS_RUN, { field: "rssAfterIdlePercent", target: atMost(110) }),
  row(`${TENANTS} stores: descriptors after idle TTL (% of before)`, TENANTS_RUN, { field: "descriptorsAfterIdlePercent", target: atMost(110) }),
  row(`${TENANTS_PER_STORE} stores publish + peek, per-store layout`, TENANTS_PER_STORE_RUN),
  row(`${TENANTS_PER_STORE} stores, per-store layout: errors`, TENANTS_PER_STORE_RUN, { field: "errors" }),
  row(`${TENANTS_PER_STORE} stores, per-store layout: server peak descriptors`, TENANTS_PER_STORE_RUN, { field: "peakDescriptors" }),
  row(`${TENANTS_PER_STORE} stores, per-store layout: server peak RSS (MB)`, TENANTS_PER_STORE_RUN, { field: "peakRssMB" }),
  row("idle connections (server process), ws", measure("idle-connections", [IDLE, 200], 300_000), { target: atMost(30) }),
  row("raw Redis pub/sub latency p99 (ms)", measure("notify-latency", ["raw-redis", NOTIFIES])),
  row("produce → notified p99 (ms), one instance", measure("notify-latency", ["local", NOTIFIES]), { target: atMost(1) }),
  row("produce → notified p99 (ms), two instances via Redis", measure("notify-latency", ["redis", NOTIFIES]), { target: atMost(2) }),
  row("raw pg multi-row INSERT, one transaction per batch of 100", RAW_PG_WRITE),
  row("durable produce, inproc, PostgreSQL", measure("produce", ["inproc", PG_RECORDS, 100, 1, PG]), { pg: RAW_PG_WRITE, target: ratio(0.8, "pg") }),
  row("durable produce, ws, PostgreSQL", measure("produce", ["ws", PG_RECORDS, 100, 1, PG]), { pg: RAW_PG_WRITE, target: ratio(0.8, "pg") }),
  row("durable produce, inproc, PostgreSQL, 4 segments", measure("produce", ["inproc", PG_RECORDS, 100, 4, PG]), { pg: RAW_PG_WRITE }),
  row("publish 64 in flight, inproc, PostgreSQL", measure("publish", ["inproc", PG_PUBLISHES, 64, PG])),
  row("publish 64 in flight, ws, PostgreSQL", measure("publish", ["ws", PG_PUBLISHES, 64, PG])),
  row("durable produce, 1 serve process, PostgreSQL + Redis, 12 segments", measure("pg-instances", ["produce", 1, PG_RECORDS, 12], 300_000), { pg: RAW_PG_WRITE }),
  row("durable produce, 3 serve processes, PostgreSQL + Redis, 12 segments", measure("pg-instances", ["produce", 3, PG_RECORDS, 12], 300_000), { pg: RAW_PG_WRITE }),
  row("publish 64 in flight, 1 serve process, PostgreSQL + Redis", measure("pg-instances", ["publish", 1, PG_PUBLISHES, 64], 300_000)),
  row("publish 64 in flight, 3 serve processes, PostgreSQL + Redis", measure("pg-instances", ["publish", 3, PG_PUBLISHES, 64], 300_000)),
  row("PostgreSQL ordering: counter, 3 instances × 4 producers, one space", measure("pg-ordering", ["counter", "one", 3, 4, PG_ORDERING_BATCHES, 100])),
  row("PostgreSQL ordering: xid, 3 instances × 4 producers, one space", measure("pg-ordering", ["xid", "one", 3, 4, PG_ORDERING_BATCHES, 100])),
  row("PostgreSQL ordering: counter, 3 instances × 4 producers, a space each", measure("pg-ordering", ["counter", "many", 3, 4, PG_ORDERING_BATCHES, 100])),
  row("PostgreSQL ordering: xid, 3 instances × 4 producers, a space each", measure("pg-ordering", ["xid", "many", 3, 4, PG_ORDERING_BATCHES, 100])),
  row("follow lag p99 (ms) under sustained produce, ws", measure("follow-lag", ["ws", FOLLOW_SECONDS])),
  row("follow lag p99 (ms) across 3 serve processes at 10k entries/s, PostgreSQL + Redis", measure("pg-follow-lag", [3, 10_000, FOLLOW_SECONDS, 50], 300_000), {
    target: atMost(50),
  }),
  // The lag target: 200 followers on 20 connections at 1,000 publishes/s.
  ...fanoutRows(1000, 200, 20),
  ...fanoutRows(1000),
  ...fanoutRows(0),
  ...durableRows,
  ...catchUpRows,
  ...httpRows,
];

const selected = ROWS.filter((r) => options.filters.length === 0 || options.filters.some((f) => r.name.toLowerCase().includes(f)));
if (selected.length === 0) throw new TypeError(`no bench row matches ${options.filters.join(", ")}`);
const measurements = measurementsOf(selected);

const root = fileURLToPath(new URL("..", import.meta.url));
const buildDir = options.tsx ? undefined : join(root, ".tmp", "bench-build");
if (buildDir !== undefined) {
  process.stderr.write("bench: compiling with tsc…\n");
  await buildProject(root, buildDir, new Set([...measurements.values()].map((m) => m.caseName)));
}

const results: Results = { runs: new Map<string, CaseResult[]>(), failures: new Map<string, string>() };
const totalRuns = measurements.size * options.reps;
let done = 0;
for (let rep = 1; rep <= options.reps; rep++) {
  for (const [key, m] of measurements) {
    done++;
    try {
      const result = await runCase(m.caseName, m.args, m.timeoutMs, buildDir);
      results.runs.set(key, [...(results.runs.get(key) ?? []), result]);
      const shown = result.notMeasured === undefined ? `${formatNumber(result.value)} ${result.unit}` : `not measured (${result.notMeasured})`;
      process.stderr.write(`[${done}/${totalRuns}] ${key}: ${shown}\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.failures.set(key, message.split("\n")[0] ?? message);
      process.stderr.write(`[${done}/${totalRuns}] ${key}: FAILED\n${message}\n`);
    }
  }
}

const how = buildDir === undefined ? "TypeScript via tsx" : "compiled by tsc";
const title = `streamkit bench: medians of ${options.reps} run(s) each, interleaved${quick ? ", --quick counts" : ""}, ${how}; node ${process.version}`;
process.stdout.write(`${renderTable(selected, results, title)}\n`);
if (results.failures.size > 0) process.exitCode = 1;
