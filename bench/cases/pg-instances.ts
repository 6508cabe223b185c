// Durable produce and publish on PostgreSQL through `instances` real `streamkit serve` processes
// sharing one schema and a Redis bus, clients spread evenly over them (docs/deployment.md, sizing).
// Arguments: mode (produce | publish), instances, total records, then for produce the segments
// (batches of 100, one stream per segment) and for publish the calls in flight (a space and segment
// per instance: writers of one space serialize on its position row, docs/deployment.md).
import { randomUUID } from "node:crypto";
import type { StreamsClient } from "../../pkg/client/index.js";
import { cpuPerOp, payloadOf, perSecond, report, timed } from "../harness.js";
import { withServeCluster } from "../pg-cluster.js";
import { numberArgs, RECORD_BYTES, recordsOf } from "../system.js";

const mode = process.argv[2];
if (mode !== "produce" && mode !== "publish") throw new TypeError(`mode must be produce or publish, got ${mode}`);
const [instances, total, width] = numberArgs([3, 50_000, 12]);
const BATCH = 100;
const payload = payloadOf(RECORD_BYTES, 11);

async function measure(clients: StreamsClient[], storeId: string): Promise<void> {
  const clientOf = (i: number): StreamsClient => clients[i % clients.length]!;
  if (mode === "produce") {
    const perSegment = Math.ceil(total / width);
    await Promise.all(clients.map((client, i) => client.produce(storeId, "warmup", `w-${i}`, recordsOf(2_000), { batchSize: BATCH })));
    const timing = await timed(() =>
      Promise.all(Array.from({ length: width }, (_, i) => clientOf(i).produce(storeId, "bench", `segment-${i}`, recordsOf(perSegment), { batchSize: BATCH }))),
    );
    const committed = perSegment * width;
    report({
      value: perSecond(committed, timing.ms),
      unit: "records/s",
      detail: `${instances} serve process(es), PostgreSQL + Redis, ${width} segments, batches of ${BATCH}, ${cpuPerOp(timing, committed)}`,
    });
    return;
  }
  let issued = 0;
  const publisher = async (client: StreamsClient, segment: string, count: number): Promise<void> => {
    while (issued < count) {
      issued++;
      await client.publish(storeId, `bench-${segment}`, segment, payload);
    }
  };
  await Promise.all(Array.from({ length: width }, (_, i) => publisher(clientOf(i), `warmup-${i % instances}`, 2_000)));
  issued = 0;
  const timing = await timed(() => Promise.all(Array.from({ length: width }, (_, i) => publisher(clientOf(i), `hot-${i % instances}`, total))));
  report({
    value: perSecond(total, timing.ms),
    unit: "ops/s",
    detail: `${instances} serve process(es), PostgreSQL + Redis, ${width} in flight, a space per process, ${cpuPerOp(timing, total)}`,
  });
}

await withServeCluster(instances, (clients) => measure(clients, randomUUID()));
