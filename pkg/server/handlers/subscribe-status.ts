import { invalidArgument, type SubscribeToSegmentStatusRequest } from "../../api/internal/index.js";
import { heartbeatIntervalMs, StatusSubscription } from "../live/subscriptions.js";
import type { HandlerContext } from "./context.js";

/**
 * `subscribe_to_segment_status`: a snapshot of the matching segments, `caught_up`, then live updates
 * and heartbeats until the client half-closes or cancels.
 */
export async function handleSubscribeToSegmentStatus(request: SubscribeToSegmentStatusRequest, context: HandlerContext): Promise<void> {
  const subscription = new StatusSubscription({
    storeId: context.storeId,
    space: request.space,
    segment: request.segment,
    heartbeatMs: heartbeatIntervalMs(request.heartbeatIntervalSeconds ?? undefined),
    store: context.store,
    bus: context.bus,
    refreshes: context.refreshes,
    send: (message) => context.send(message),
    signal: context.signal,
    logger: context.logger,
  });
  // The client sends nothing after its request: a half-close ends the subscription, a message is a mistake.
  context.receive().then(
    (message) => subscription.stop(message === undefined ? undefined : invalidArgument("$type", "a status subscription takes no further messages")),
    (error: unknown) => subscription.stop(error),
  );
  await subscription.run();
}
