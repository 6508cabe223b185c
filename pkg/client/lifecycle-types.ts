import type { Retention, SegmentStatus } from "../api/index.js";
import type { RequestOptions } from "./types.js";

/** Options of deleteSegment and deleteSpace. */
export interface DeleteOptions extends RequestOptions {
  /**
   * A hard purge: the tombstone goes too, so the segment's sequences start at 1 again (its old
   * offsets then point into the new entries). Also purges segments already deleted.
   */
  purge?: boolean;
}

/**
 * Data lifecycle (docs/lifecycle.md). Each needs the store's write scope, except getRetention (read).
 * Sequences are never reused; reads that start inside a removed range fail with `out_of_range`.
 */
export interface LifecycleClient {
  /** Removes a segment's entries and hides it; resolves to its tombstone (`deleted: true`). `purge`: forget it entirely. */
  deleteSegment(storeId: string, space: string, segment: string, options?: DeleteOptions): Promise<SegmentStatus>;
  /** Deletes every segment of a space; resolves to their tombstones. `purge`: forget them entirely. */
  deleteSpace(storeId: string, space: string, options?: DeleteOptions): Promise<SegmentStatus[]>;
  /** Removes the whole store: entries, tombstones, leases, retention. Its open streams end with `not_found`. */
  deleteStore(storeId: string, options?: RequestOptions): Promise<void>;
  /** Removes the entries with sequence < beforeSequence; resolves to the segment's new head. */
  truncateSegment(storeId: string, space: string, segment: string, beforeSequence: number, options?: RequestOptions): Promise<SegmentStatus>;
  /** Marks a segment finished: later produce and publish fail with `failed_precondition`. */
  closeSegment(storeId: string, space: string, segment: string, options?: RequestOptions): Promise<SegmentStatus>;
  /** Sets a space's retention (`{}` removes it); resolves to the retention now in force. */
  setRetention(storeId: string, space: string, retention: Retention, options?: RequestOptions): Promise<Retention>;
  /** A space's retention; `{}` when it has none. */
  getRetention(storeId: string, space: string, options?: RequestOptions): Promise<Retention>;
}
