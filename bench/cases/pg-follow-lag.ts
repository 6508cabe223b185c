// Follow lag across instances on PostgreSQL: `instances` real `streamkit serve` processes share one
// schema and a Redis bus; producers on every instance but the last commit `rate` entries/s in all
// (batches of `batch`, paced), and one follow consumer on the last instance reads the space. Lag =
// time the follower receives an entry minus its commit timestamp (one machine, one clock).
//   node --import tsx bench/cases/pg-follow-lag.ts [instances=3] [rate=10000] [seconds=10] [batch=50]
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { StreamsClient } from "../../pkg/client/index.js";
import { report } from "../harness.js";
import { withServeCluster } from "../pg-cluster.js";
import { numberArgs, recordsOf } from "../system.js";

// numberArgs reads from the second argument on (the first is a mode elsewhere): this case has no mode.
const [given = "3", ...rest] = process.argv.slice(2);
const instances = Number(given);
const [rate, seconds, batch] = numberArgs([10_000, 10, 50]);
if (rest.length > 3 || !Number.isInteger(instances)) throw new TypeError("arguments: [instances] [rate] [seconds] [batch]");
if (instances < 2) throw new TypeError("the follower needs an instance of its own and at least one producing instance");
const PRODUCERS_PER_INSTANCE = 2;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

async function measure(clients: StreamsClient[], storeId: string): Promise<void> {
  const follower = clients.at(-1)!;
  const producing = clients.slice(0, -1).flatMap((client) => Array.from({ length: PRODUCERS_PER_INSTANCE }, () => client));
  // Warm-up: opens the store on every instance and the follower's connection.
  await Promise.all(clients.map((client, i) => client.produce(storeId, "warm-up", `w-${i}`, recordsOf(batch))));

  const lags: number[] = [];
  let expected = Number.POSITIVE_INFINITY;
  const stop = new AbortController();
  const bound = setTimeout(() => stop.abort(), (seconds + 120) * 1000);
  let received!: () => void;
  const allReceived = new Promise<void>((resolve) => (received = resolve));
  const reading = (async () => {
    for await (const entry of follower.consumeSpace(storeId, { space: "bench", follow: true }, { signal: stop.signal })) {
      lags.push(Date.now() - entry.timestamp);
      if (lags.length >= expected) received();
    }
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });

  // Each producer sends a batch every `interval` ms on a fixed schedule; a late batch goes at once.
  const interval = (batch * producing.length * 1000) / rate;
  const batches = Math.floor((seconds * 1000) / interval);
  const started = performance.now();
  await Promise.all(
    producing.map(async (client, p) => {
      const offset = (interval * p) / producing.length;
      for (let i = 0; i < batches; i++) {
        const due = started + offset + i * interval - performance.now();
        if (due > 0) await sleep(due);
        await client.produce(storeId, "bench", `segment-${p}`, recordsOf(batch, i * batch + 1), { batchSize: batch });
      }
    }),
  );
  const elapsed = performance.now() - started;
  expected = batches * batch * producing.length;
  if (lags.length >= expected) received();
  await Promise.race([allReceived, reading]);
  stop.abort();
  clearTimeout(bound);
  await reading;
  if (lags.length !== expected) throw new Error(`the follower read ${lags.length} entries, expected ${expected}`);

  const sorted = [...lags].sort((a, b) => a - b);
  const p99 = percentile(sorted, 0.99);
  report({
    value: p99,
    unit: "ms p99 follow lag",
    detail: `${instances} serve processes, PostgreSQL + Redis, follower on its own instance; p50 ${percentile(sorted, 0.5)} ms, p99 ${p99} ms, max ${sorted.at(-1)} ms; ${expected} entries at ${Math.round((expected / elapsed) * 1000)}/s (asked ${rate}) from ${producing.length} producers in batches of ${batch}`,
  });
}

await withServeCluster(instances, (clients) => measure(clients, randomUUID()));
