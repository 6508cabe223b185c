import { invalidArgument, MessageTypes, opName, type StreamsError, type SubscribeWorkersRequest } from "../../api/internal/index.js";
import { InventoryFeed } from "../live/workers-feed.js";
import type { WorkerMembership } from "../live/workers-registry.js";
import type { HandlerContext } from "./context.js";
import { checkMetadataSize } from "./limits.js";

/** Reads keepalives until the client half-closes. */
async function receiveKeepalives(context: HandlerContext, membership: WorkerMembership | undefined): Promise<void> {
  for (;;) {
    const message = await context.receive();
    if (message === undefined) return;
    if (message.$type !== MessageTypes.workerKeepalive) {
      throw invalidArgument("$type", `expected worker_keepalive on a subscribe_workers stream, got '${opName(message.$type)}'`);
    }
    membership?.keepalive();
  }
}

/**
 * `subscribe_workers`: with a `workerId` the stream registers that worker (write access) and lists it
 * while keepalives arrive; without one it observes. Both get the store's inventory on open and after
 * every join and leave. The worker leaves when its stream ends; a newer stream of the same id ends
 * this one with `cancelled`, missing keepalives with `deadline_exceeded`.
 */
export async function handleSubscribeWorkers(request: SubscribeWorkersRequest, context: HandlerContext): Promise<void> {
  checkMetadataSize(request.metadata, "metadata", context.limits);
  const registry = context.workers();
  const feed = new InventoryFeed((inventory) => context.send({ $type: MessageTypes.workerInventory, ...inventory }));
  let evict: (reason: StreamsError) => void = () => undefined;
  const evicted = new Promise<never>((_resolve, reject) => (evict = reject));
  evicted.catch(() => undefined); // raced below; an eviction after the stream ended has nobody to tell
  const workerId = request.workerId ?? undefined;
  const membership =
    workerId === undefined
      ? undefined
      : registry.register({ workerId, metadata: request.metadata ?? {}, keepaliveMs: request.keepaliveMs ?? undefined }, evict);
  let stopObserving: (() => void) | undefined;
  try {
    stopObserving = registry.observe((inventory) => feed.push(inventory));
    await Promise.race([receiveKeepalives(context, membership), evicted, feed.failed]);
  } finally {
    stopObserving?.();
    feed.close();
    membership?.leave();
  }
}
