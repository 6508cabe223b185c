import { MessageTypes, type StreamsError, type SubscribeToSegmentStatusRequest } from "../api/internal/index.js";
import { optionalNumber, optionalObject, requireSignal, requireString } from "./args.js";
import type { StatusSubscriptionParams } from "./subscribe.js";
import type { StatusListener } from "./subscribe-types.js";

/** Checks a subscribe call's argument types (TypeError, nothing sent) and builds its request. */
export function statusSubscriptionParams(
  storeId: unknown,
  space: unknown,
  segment: unknown,
  onStatus: unknown,
  options: unknown,
): StatusSubscriptionParams {
  requireString(storeId, "storeId");
  requireString(space, "space");
  requireString(segment, "segment");
  if (typeof onStatus !== "function") throw new TypeError(`onStatus must be a function, got ${typeof onStatus}`);
  const fields = optionalObject(options, "options");
  const signal = requireSignal(fields.signal, "options.signal");
  const heartbeatIntervalSeconds = optionalNumber(fields.heartbeatIntervalSeconds, "options.heartbeatIntervalSeconds");
  const onError = fields.onError;
  if (onError !== undefined && typeof onError !== "function") throw new TypeError(`options.onError must be a function, got ${typeof onError}`);
  const request: SubscribeToSegmentStatusRequest = { $type: MessageTypes.subscribeToSegmentStatus, space, segment };
  if (heartbeatIntervalSeconds !== undefined) request.heartbeatIntervalSeconds = heartbeatIntervalSeconds;
  return {
    storeId,
    request,
    onStatus: onStatus as StatusListener,
    onError: onError as ((error: StreamsError) => void) | undefined,
    signal,
  };
}
