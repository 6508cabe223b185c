// Durable produce: `records` records of 200 B in batches of `batchSize`, pipelined on one stream per
// segment; `segments` segments produced at once. Every batch is acknowledged only once synced.
// With "store=postgres" among the arguments, the store is PostgreSQL (STREAMKIT_POSTGRES_URL) in a throwaway schema.
import { randomUUID } from "node:crypto";
import type { SegmentStatus } from "../../pkg/api/index.js";
import { cpuPerOp, perSecond, report, timed, withTempDir } from "../harness.js";
import { type BenchStore, postgresStore, wantsPostgres, withPostgresSchema } from "../postgres.js";
import { numberArgs, recordsOf, startSystem, transportArg } from "../system.js";

const transport = transportArg(process.argv[2]);
const [records, batchSize, segments] = numberArgs([100_000, 100, 1]);
const perSegment = Math.ceil(records / segments);

const run = (store?: BenchStore): Promise<void> =>
  withTempDir(async (dir) => {
    const system = await startSystem(transport, dir, store);
    try {
      const storeId = randomUUID();
      // Warm-up: opens the store (and the connection) and compiles the hot paths.
      await system.client.produce(storeId, "warmup", "w", recordsOf(5_000), { batchSize });
      const sources = Array.from({ length: segments }, () => recordsOf(perSegment));
      let results: SegmentStatus[][] = [];
      const timing = await timed(async () => {
        results = await Promise.all(sources.map((source, i) => system.client.produce(storeId, "bench", `segment-${i}`, source, { batchSize })));
      });
      const committed = results.reduce((sum, statuses) => sum + (statuses.at(-1)?.lastSequence ?? 0), 0);
      if (committed !== perSegment * segments) throw new Error(`committed ${committed} of ${perSegment * segments}`);
      report({
        value: perSecond(committed, timing.ms),
        unit: "records/s",
        detail: `${transport}${wantsPostgres() ? ", PostgreSQL" : ""}, ${segments} segment(s), batches of ${batchSize}, ${cpuPerOp(timing, committed)}`,
      });
    } finally {
      await system.close();
    }
  });

if (wantsPostgres()) await withPostgresSchema((schema) => run(postgresStore(schema)));
else await run();
