// Follow lag under a sustained produce load: `producers` producers each commit batches of `batch`
// records of 200 B to their own segment of one space, back to back, for `seconds` seconds; one follow
// consumer reads the space (over the same connection). Lag = time the consumer receives an entry
// minus its commit timestamp (the server's, in ms; same clock, one process). Reports p99 and p50.
//   node --import tsx bench/cases/follow-lag.ts <inproc|ws> [seconds=5] [batch=100] [producers=4]
import { randomUUID } from "node:crypto";
import { report, withTempDir } from "../harness.js";
import { numberArgs, recordsOf, startSystem, transportArg } from "../system.js";

const transport = transportArg(process.argv[2]);
const [seconds = 5, batch = 100, producers = 4] = numberArgs([5, 100, 4]);
// Bounds the run whatever the machine: at most this many batches per producer.
const MAX_BATCHES = 100_000;
const storeId = randomUUID();

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

await withTempDir(async (dir) => {
  const system = await startSystem(transport, dir);
  const { client } = system;
  try {
    // Warm-up: opens the store and the connection.
    await client.produce(storeId, "warm-up", "w", recordsOf(batch));

    let stopAt = Number.POSITIVE_INFINITY;
    let produced = 0;
    const lags: number[] = [];
    /** Produce round trips (send → status), for context: the lag includes the commit itself. */
    const acks: number[] = [];
    // Ends the read when it already holds every entry once the producers stop.
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout((seconds + 60) * 1000)]);
    const reading = (async () => {
      for await (const entry of client.consumeSpace(storeId, { space: "bench", follow: true, signal })) {
        lags.push(Date.now() - entry.timestamp);
        if (lags.length >= stopAt) break;
      }
    })().catch((error: unknown) => {
      if (!stop.signal.aborted) throw error;
    });

    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        let next = 1;
        for (let i = 0; i < MAX_BATCHES && performance.now() < deadline; i++) {
          const sent = performance.now();
          await client.produce(storeId, "bench", `segment-${p}`, recordsOf(batch, next), { batchSize: batch });
          acks.push(performance.now() - sent);
          next += batch;
          produced += batch;
        }
      }),
    );
    const elapsed = performance.now() - started;
    stopAt = produced;
    if (lags.length >= stopAt) stop.abort();
    await reading;
    if (lags.length !== produced) throw new Error(`the follow read ${lags.length} entries, expected ${produced}`);

    const sorted = [...lags].sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const rate = Math.round((produced / elapsed) * 1000);
    const sortedAcks = [...acks].sort((a, b) => a - b);
    const ack = (fraction: number) => percentile(sortedAcks, fraction).toFixed(1);
    report({
      value: p99,
      unit: "ms p99 follow lag",
      detail: `${transport}, p50 ${p50} ms, p99 ${p99} ms, max ${sorted.at(-1)} ms; ${produced} entries at ${rate}/s from ${producers} producers in batches of ${batch}; produce round trip p50 ${ack(0.5)} ms, p99 ${ack(0.99)} ms`,
    });
  } finally {
    await system.close();
  }
});
