// Consume segment: one read of a segment of `count` entries of 200 B (written in batches of 100),
// from a store reopened after the fill, as the raw scan reopens its database.
import { randomUUID } from "node:crypto";
import { cpuPerOp, perSecond, report, timed, withTempDir } from "../harness.js";
import { drain, numberArgs, recordsOf, startSystem, transportArg } from "../system.js";

const transport = transportArg(process.argv[2]);
const [count] = numberArgs([100_000]);
const storeId = randomUUID();

await withTempDir(async (dir) => {
  const filler = await startSystem("inproc", dir);
  await filler.client.produce(storeId, "bench", "seg", recordsOf(count), { batchSize: 100 });
  await filler.close();

  const system = await startSystem(transport, dir);
  try {
    // Warm-up: opens the store (and the connection) and compiles the hot paths.
    await drain(system.client.consumeSegment(storeId, { space: "bench", segment: "seg", limit: 2_000 }), 2_000);
    const timing = await timed(() => drain(system.client.consumeSegment(storeId, { space: "bench", segment: "seg" }), count));
    report({ value: perSecond(count, timing.ms), unit: "entries/s", detail: `${transport}, ${count} entries, ${cpuPerOp(timing, count)}` });
  } finally {
    await system.close();
  }
});
