import type { WorkerInventory } from "../api/index.js";
import type { Subscription } from "./subscribe-types.js";
import type { CallOptions } from "./types.js";

/** Receives the store's full inventory on open and after every join and leave. A returned promise is awaited before the next one. */
export type InventoryListener = (inventory: WorkerInventory) => void | Promise<void>;

export interface SubscribeWorkersOptions extends CallOptions {
  /** Registers this worker (needs write access); without it the stream only observes. */
  workerId?: string;
  /** Shown beside the worker in every inventory; only with `workerId`. */
  metadata?: { [key: string]: string };
  /**
   * How often the worker sends keepalives: an integer ≥ 1, default 10 s, at most 300 s (longer is
   * clamped, as the server does). The server drops a worker after max(3 × this, its `workerStaleMinMs`) without one.
   */
  keepaliveMs?: number;
}

/**
 * A worker registration or an inventory observation, established once the first inventory arrived.
 * A transient failure (a dropped connection, a node closing, a keepalive gap) registers or observes
 * again with backoff; a worker replaced by a newer stream with its id ends with `cancelled` and is
 * not resumed.
 */
export type WorkersSubscription = Subscription;
