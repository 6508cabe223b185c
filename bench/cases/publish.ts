// Publish with `inFlight` concurrent publishers (one record of 200 B each call, one round trip, durable),
// `total` publishes in all, every publisher on the same segment.
// With "store=postgres" among the arguments, the store is PostgreSQL (STREAMKIT_POSTGRES_URL) in a throwaway schema.
import { randomUUID } from "node:crypto";
import { cpuPerOp, payloadOf, perSecond, report, timed, withTempDir } from "../harness.js";
import { type BenchStore, postgresStore, wantsPostgres, withPostgresSchema } from "../postgres.js";
import { numberArgs, RECORD_BYTES, startSystem, transportArg } from "../system.js";

const transport = transportArg(process.argv[2]);
const [total, inFlight] = numberArgs([50_000, 64]);
const payload = payloadOf(RECORD_BYTES, 7);

const run = (store?: BenchStore): Promise<void> =>
  withTempDir(async (dir) => {
    const system = await startSystem(transport, dir, store);
    try {
      const storeId = randomUUID();
      let issued = 0;
      const publisher = async (segment: string, count: number) => {
        while (issued < count) {
          issued++;
          await system.client.publish(storeId, "bench", segment, payload);
        }
      };
      // Warm-up: opens the store (and the connection) and compiles the hot paths.
      await Promise.all(Array.from({ length: inFlight }, () => publisher("warmup", 2_000)));
      issued = 0;
      const timing = await timed(() => Promise.all(Array.from({ length: inFlight }, () => publisher("hot", total))));
      const head = await system.client.peek(storeId, "bench", "hot");
      if (head.sequence !== total) throw new Error(`published ${head.sequence} of ${total}`);
      report({
        value: perSecond(total, timing.ms),
        unit: "ops/s",
        detail: `${transport}${wantsPostgres() ? ", PostgreSQL" : ""}, ${inFlight} in flight, one segment, ${cpuPerOp(timing, total)}`,
      });
    } finally {
      await system.close();
    }
  });

if (wantsPostgres()) await withPostgresSchema((schema) => run(postgresStore(schema)));
else await run();
