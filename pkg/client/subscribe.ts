import {
  decodeAny,
  MessageTypes,
  type SegmentStatusMessage,
  StreamsError,
  type SubscribeToSegmentStatusRequest,
} from "../api/internal/index.js";
import type { Connection } from "./connection.js";
import { withoutType } from "./replies.js";
import { openResubscribing, type StreamProgress } from "./resubscribing.js";
import type { StatusListener, StatusSubscription } from "./subscribe-types.js";

export interface StatusSubscriptionParams {
  storeId: string;
  request: SubscribeToSegmentStatusRequest;
  onStatus: StatusListener;
  onError: ((error: StreamsError) => void) | undefined;
  signal: AbortSignal | undefined;
}

/**
 * Opens a status subscription and resolves once the server has sent the snapshot and acknowledged
 * (`caught_up`), the snapshot having gone through `onStatus`. Rejects with the first attempt's error.
 * A resubscription after a transient failure gets a snapshot again, then live updates; a listener
 * that throws ends the subscription (`internal`, told to `onError`).
 */
export function subscribeToStatus(connection: Connection, params: StatusSubscriptionParams): Promise<StatusSubscription> {
  return openResubscribing(connection, {
    ...params,
    streamName: "subscription",
    onMessage: (bytes, progress) => onStatusMessage(bytes, progress, params.onStatus),
  });
}

/** Any message shows the stream is up (a resubscription's snapshot follows); `caught_up` completes the snapshot. */
async function onStatusMessage(bytes: Uint8Array, progress: StreamProgress, onStatus: StatusListener): Promise<void> {
  progress.live();
  const message = decodeAny(bytes) as { $type?: unknown } | null;
  const type = message?.$type;
  if (type === MessageTypes.caughtUp) return progress.establish();
  if (type !== MessageTypes.segmentStatus) throw new StreamsError("internal", `unexpected message in a status subscription: ${String(type)}`);
  await progress.deliver(() => onStatus(withoutType(message as SegmentStatusMessage)), "the status listener threw");
}
