import { MessageTypes, type SubscribeWorkersRequest } from "../api/internal/index.js";
import { optionalObject, optionalString, requireCount, requireSignal, requireString, requireStringMap } from "./args.js";
import type { InventoryListener } from "./workers-types.js";

export const DEFAULT_KEEPALIVE_MS = 10_000;
/** The server clamps longer intervals to this; sending less often than it counts on would make the worker stale. */
export const MAX_KEEPALIVE_MS = 300_000;

export interface WorkersSubscriptionParams {
  storeId: string;
  request: SubscribeWorkersRequest;
  /** Keepalive period of a worker stream; undefined for an observer. */
  keepaliveMs: number | undefined;
  onInventory: InventoryListener;
  signal: AbortSignal | undefined;
}

/** Checks subscribeWorkers' argument types (TypeError, nothing sent) and builds its request. */
export function workersSubscriptionParams(storeId: unknown, options: unknown, onInventory: unknown): WorkersSubscriptionParams {
  requireString(storeId, "storeId");
  const fields = optionalObject(options, "options");
  if (typeof onInventory !== "function") throw new TypeError(`onInventory must be a function, got ${typeof onInventory}`);
  const signal = requireSignal(fields.signal, "options.signal");
  const workerId = optionalString(fields.workerId, "options.workerId");
  const request: SubscribeWorkersRequest = { $type: MessageTypes.subscribeWorkers };
  const keepaliveMs =
    fields.keepaliveMs === undefined ? DEFAULT_KEEPALIVE_MS : Math.min(requireCount(fields.keepaliveMs, "options.keepaliveMs"), MAX_KEEPALIVE_MS);
  if (fields.metadata !== undefined) {
    requireStringMap(fields.metadata, "options.metadata");
    if (workerId === undefined) throw new TypeError("options.metadata describes a worker: give options.workerId too");
    request.metadata = { ...fields.metadata };
  }
  if (workerId === undefined) return { storeId, request, keepaliveMs: undefined, onInventory: onInventory as InventoryListener, signal };
  request.workerId = workerId;
  request.keepaliveMs = keepaliveMs;
  return { storeId, request, keepaliveMs, onInventory: onInventory as InventoryListener, signal };
}
