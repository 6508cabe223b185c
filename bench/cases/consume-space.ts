// Consume space: one read of a space of `count` entries of 200 B over `segments` segments, produced
// concurrently in batches of 100 (so the space's commit order interleaves them), from a reopened store.
import { randomUUID } from "node:crypto";
import { cpuPerOp, perSecond, report, timed, withTempDir } from "../harness.js";
import { drain, numberArgs, recordsOf, startSystem, transportArg } from "../system.js";

const transport = transportArg(process.argv[2]);
const [count, segments] = numberArgs([100_000, 10]);
const perSegment = Math.ceil(count / segments);
const total = perSegment * segments;
const storeId = randomUUID();

await withTempDir(async (dir) => {
  const filler = await startSystem("inproc", dir);
  await Promise.all(
    Array.from({ length: segments }, (_, i) =>
      filler.client.produce(storeId, "bench", `segment-${i}`, recordsOf(perSegment), { batchSize: 100 }),
    ),
  );
  await filler.close();

  const system = await startSystem(transport, dir);
  try {
    // Warm-up: opens the store (and the connection) and compiles the hot paths.
    await drain(system.client.consumeSpace(storeId, { space: "bench", limit: 2_000 }), 2_000);
    const timing = await timed(() => drain(system.client.consumeSpace(storeId, { space: "bench" }), total));
    report({
      value: perSecond(total, timing.ms),
      unit: "entries/s",
      detail: `${transport}, ${total} entries over ${segments} segments, ${cpuPerOp(timing, total)}`,
    });
  } finally {
    await system.close();
  }
});
