import { type ClientStream, encodeMessage, MessageTypes } from "../api/internal/index.js";
import type { Connection } from "./connection.js";
import { decodeReply, withoutType } from "./replies.js";
import { openResubscribing } from "./resubscribing.js";
import type { WorkersSubscriptionParams } from "./workers-request.js";
import type { WorkersSubscription } from "./workers-types.js";

const KEEPALIVE = encodeMessage({ $type: MessageTypes.workerKeepalive });

/**
 * Registers a worker or observes the inventory; resolves once the first inventory went through the
 * listener. Rejects with the first attempt's error (`permission_denied` for a read-only scope
 * registering a worker, …). A transient failure registers or observes again; `cancelled` because a
 * newer stream took over the worker id is permanent, so it ends the registration for good.
 */
export function subscribeWorkers(connection: Connection, params: WorkersSubscriptionParams): Promise<WorkersSubscription> {
  return openResubscribing(connection, {
    ...params,
    streamName: "workers stream",
    onOpen: (stream) => sendKeepalives(stream, params.keepaliveMs),
    async onMessage(bytes, progress) {
      const inventory = withoutType(decodeReply(bytes, MessageTypes.workerInventory));
      await progress.deliver(() => params.onInventory(inventory), "the inventory listener threw");
      progress.establish();
    },
  });
}

/** A worker stream's keepalives; a failed send needs no handling here, as the stream's receive fails too. */
function sendKeepalives(stream: ClientStream, keepaliveMs: number | undefined): () => void {
  if (keepaliveMs === undefined) return () => undefined;
  const timer = setInterval(() => void stream.send(KEEPALIVE).catch(() => undefined), keepaliveMs);
  return () => clearInterval(timer);
}
