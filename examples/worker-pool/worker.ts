import type { StreamsClient } from "streamkit-ts/client";
import { isCancelled } from "../shared/run.js";
import { PLAN_SEGMENT, PLAN_SPACE } from "./dispatcher.js";
import { decodePlan, partitionsOf } from "./plan.js";

export interface WorkerOptions {
  client: StreamsClient;
  storeId: string;
  workerId: string;
  /** Called for every plan the worker reads, with the plan's sequence and the partitions it now owns. */
  onPlan(sequence: number, partitions: string[]): void;
  /** The worker's process: aborting it stops the worker, which leaves the pool at once. */
  signal: AbortSignal;
}

/**
 * One worker: announces itself (listed while this stream is open and its keepalives arrive) and
 * follows the dispatcher's plans, taking up the partitions assigned to it. Resolves once stopped.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { client, storeId, workerId, signal } = options;
  const presence = await client.subscribeWorkers(storeId, { workerId, metadata: { pid: String(process.pid) }, signal }, () => {});
  let owned = "";
  try {
    // From the latest plan on: older ones no longer matter.
    const latest = await client.peek(storeId, PLAN_SPACE, PLAN_SEGMENT, { signal });
    const plans = client.consumeSegment(storeId, { space: PLAN_SPACE, segment: PLAN_SEGMENT, minSequence: latest.sequence, follow: true, signal });
    for await (const entry of plans) {
      const partitions = partitionsOf(decodePlan(entry.payload).owners, workerId);
      if (partitions.join() !== owned) {
        owned = partitions.join();
        console.log(`  ${workerId} works on ${partitions.join(", ") || "nothing"} (plan ${entry.sequence})`);
      }
      options.onPlan(entry.sequence, partitions);
    }
  } catch (error) {
    if (!isCancelled(error)) throw error;
  } finally {
    await presence.unsubscribe();
  }
}
