import type { StreamsClient, WorkersSubscription } from "streamkit-ts/client";
import { assign, decodePlan, describeOwners, encodePlan, type Owners, type Plan, sameOwners } from "./plan.js";

export const PLAN_SPACE = "pool";
export const PLAN_SEGMENT = "assignments";

export interface DispatcherOptions {
  client: StreamsClient;
  storeId: string;
  partitions: readonly string[];
  /** Called after each plan it published, with the plan's sequence. */
  onPlan(sequence: number, plan: Plan): void;
  signal: AbortSignal;
}

/**
 * Observes the store's worker inventory and publishes a new plan whenever the live workers change.
 * It starts from the last plan published, so a restarted dispatcher keeps the assignments that still hold.
 */
export async function startDispatcher(options: DispatcherOptions): Promise<WorkersSubscription> {
  const { client, storeId, partitions, signal } = options;
  const last = await client.peek(storeId, PLAN_SPACE, PLAN_SEGMENT, { signal });
  let owners: Owners = last.sequence === 0 ? {} : decodePlan(last.payload).owners;
  let workers: string[] = [];

  // No workerId: this stream only observes. The listener runs once per inventory, one at a time.
  return client.subscribeWorkers(storeId, { signal }, async (inventory) => {
    const live = inventory.workers.map((worker) => worker.workerId);
    const next = assign(owners, live, partitions);
    if (sameOwners(next, owners) && live.join() === workers.join()) return;
    owners = next;
    workers = live;
    const plan = { workers, owners };
    const status = await client.publish(storeId, PLAN_SPACE, PLAN_SEGMENT, encodePlan(plan), { signal });
    console.log(`dispatcher: plan ${status.lastSequence}: ${describeOwners(owners, workers)}`);
    options.onPlan(status.lastSequence, plan);
  });
}
