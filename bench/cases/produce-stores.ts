// Durable produce spread over many stores at once: `records` records of 200 B in batches of
// `batchSize`, split evenly over `stores` stores (one segment each), 200 stores' streams at a time. In the
// shared level layout the commits of every store share synced writes (docs/tenants.md), so this is
// compared with one store's produce of the same records.
import { randomUUID } from "node:crypto";
import type { SegmentStatus } from "../../pkg/api/index.js";
import { cpuPerOp, perSecond, report, timed, withTempDir } from "../harness.js";
import { numberArgs, recordsOf, startSystem, transportArg } from "../system.js";

const transport = transportArg(process.argv[2]);
const [records, batchSize, stores] = numberArgs([100_000, 100, 1_000]);
const perStore = Math.ceil(records / stores);
/** Produce streams open at once: under the server's default limit of streams per connection (256). */
const IN_FLIGHT = 200;

/** Runs `task` for every index, IN_FLIGHT at a time; the results in index order. */
async function pooled<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  return results;
}

await withTempDir(async (dir) => {
  const system = await startSystem(transport, dir);
  try {
    const ids = Array.from({ length: stores }, () => randomUUID());
    // Warm-up: opens every store (and the connection) and compiles the hot paths.
    await pooled(stores, (i) => system.client.produce(ids[i] as string, "warmup", "w", recordsOf(1), { batchSize }));
    const sources = ids.map(() => recordsOf(perStore));
    let results: SegmentStatus[][] = [];
    const timing = await timed(async () => {
      results = await pooled(stores, (i) => system.client.produce(ids[i] as string, "bench", "g", sources[i] ?? [], { batchSize }));
    });
    const committed = results.reduce((sum, statuses) => sum + (statuses.at(-1)?.lastSequence ?? 0), 0);
    if (committed !== perStore * stores) throw new Error(`committed ${committed} of ${perStore * stores}`);
    report({
      value: perSecond(committed, timing.ms),
      unit: "records/s",
      detail: `${transport}, ${stores} stores of ${perStore} records, batches of ${batchSize}, ${cpuPerOp(timing, committed)}`,
    });
  } finally {
    await system.close();
  }
});
