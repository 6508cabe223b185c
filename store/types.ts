import type { LeaseResult, Producer, Record, Retention, SegmentStatus, StoreStatus, Trx } from "../pkg/api/internal/index.js";

/** An entry as a store keeps it: the wire Entry without its offset, plus its commit position in the space. */
export interface StoredEntry {
  space: string;
  segment: string;
  sequence: number;
  timestamp: number;
  trx: Trx;
  payload: Uint8Array;
  metadata: { [key: string]: string };
  /**
   * Position in the space's commit order: strictly increasing in the order entries became visible,
   * so a reader that has seen position p never later finds an entry at a position ≤ p.
   */
  position: number;
}

/** A segment read. Bounds are inclusive; 0 or absent means unbounded. */
export interface SegmentRange {
  space: string;
  segment: string;
  minSequence?: number;
  maxSequence?: number;
  minTimestamp?: number;
  maxTimestamp?: number;
  limit?: number;
}

/** A space read in commit order, after `afterPosition` (0 or absent: from the start). */
export interface SpaceRange {
  space: string;
  afterPosition?: number;
  minTimestamp?: number;
  maxTimestamp?: number;
  limit?: number;
}

/** What a backend supports; the conformance suite skips what a backend declares it does not. */
export interface StoreFeatures {
  /** Data survives closing the store and opening it again from its factory. */
  reopen: boolean;
  /** Acknowledged writes survive a process kill. */
  durable: boolean;
  /**
   * produce() places a batch when it is called: a batch produced before an earlier one has committed
   * is checked against it, and a batch of a failed ProduceChain is refused unplaced. Callers may then
   * keep several batches of one chain in flight (they share group commits). Absent: await each one.
   */
  pipelinedProduce?: boolean;
  /** Delete, truncate, close and retention (docs/lifecycle.md). */
  lifecycle?: boolean;
}

/** What a store holds: kept entries, and the bytes its data takes where it lives (disk, rows, memory). */
export interface StoreUsage {
  entries: number;
  bytes: number;
}

export interface SweepOptions {
  /** The time the ages are measured at. Default: now. */
  now?: number;
  /** Retention of spaces that have none of their own. */
  defaults?: ReadonlyMap<string, Retention>;
  /** Hears each truncated segment's new head. */
  onTruncated?(status: SegmentStatus): void;
  /** Stops the sweep between segments. */
  signal?: AbortSignal;
}

/** Options of deleteSegment and deleteSpace. */
export interface DeleteOptions {
  /**
   * A hard purge: the segment is forgotten, tombstone and all, so its sequences start at 1 again
   * (docs/lifecycle.md). Also purges segments that are already deleted.
   */
  purge?: boolean;
}

/** A live lease (held, not expired on the store's clock), as `listLeases` gives it (docs/leases.md). */
export interface LeaseInfo {
  key: string;
  holder: string;
  /** Ms since epoch, on the store's clock. */
  expiresAt: number;
  /** Fencing token. */
  token: number;
}

/** Options of listLeases: a page of at most `limit` leases (default 1,000, at most 10,000) after the key `after`. */
export interface LeaseListOptions {
  limit?: number;
  after?: string;
}

/** Options every backend takes (each factory passes them to its stores). */
export interface StoreOptions {
  /**
   * Idempotent-publish records a store keeps in memory (default 10,000): each segment, producer and
   * kept acknowledgement counts one (docs/limits.md); past it the least recently used segments'
   * states go and are read again from the data, newest entries first.
   */
  maxProducers?: number;
}

/** What one retention sweep removed. */
export interface SweepResult {
  /** Segments truncated. */
  segments: number;
  /** Entries removed. */
  entries: number;
}

/**
 * Links the batches of one produce stream. Every store sets `failure` when a batch of the chain fails
 * (before its promise settles) and refuses later batches of the chain with it, unplaced, so nothing
 * produced after a failed batch is ever committed; one that declares `pipelinedProduce` does so for
 * the batches issued while the failing one was still in flight too (store/conformance/chains.ts).
 */
export interface ProduceChain {
  failure?: unknown;
}

/**
 * One store's durable, ordered streams. Implementations extend AbstractStore, which validates
 * arguments and then calls the backend's `_method`.
 */
export interface Store {
  readonly storeId: string;
  readonly features: StoreFeatures;
  /**
   * Commits one batch atomically; the first sequence must be lastSequence + 1 and the rest contiguous.
   * `chain` links it to the other batches of its produce stream (see ProduceChain).
   */
  produce(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus>;
  /**
   * Appends one record at the segment's next sequence. Never conflicts. With a `producer` stamp it is
   * idempotent (docs/design.md, Idempotent publish): stored once per producer, epoch and sequence in
   * the segment — a repeat resolves to the first attempt's acknowledgement — and an epoch older than
   * the producer's latest in the segment fails with `failed_precondition`.
   */
  publish(space: string, segment: string, payload: Uint8Array, metadata?: { [key: string]: string }, producer?: Producer): Promise<SegmentStatus>;
  /** One ordered range scan over a segment, in sequence order. Releases its resources when the loop ends. */
  readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry>;
  /** One ordered range scan over a space, in commit order. */
  readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry>;
  /** readSegment's entries in chunks (non-empty arrays, in order), for readers that take many at a time. */
  readSegmentChunks?(range: SegmentRange): AsyncIterableIterator<StoredEntry[]>;
  /** readSpace's entries in chunks (non-empty arrays, in order). */
  readSpaceChunks?(range: SpaceRange): AsyncIterableIterator<StoredEntry[]>;
  /** The latest entry of a segment, or undefined when it has none. */
  peek(space: string, segment: string): Promise<StoredEntry | undefined>;
  /** The head of a segment, or undefined when it has no entries. */
  segmentStatus(space: string, segment: string): Promise<SegmentStatus | undefined>;
  /** Heads of every segment of a space, sorted by segment name. */
  segmentStatuses(space: string): Promise<SegmentStatus[]>;
  /** Spaces, sorted by code point. */
  listSpaces(): Promise<string[]>;
  /** Segments of a space, sorted by code point. */
  listSegments(space: string): Promise<string[]>;
  status(): Promise<StoreStatus>;
  /**
   * Leases (docs/leases.md), kept with the store's data: one holder per key, atomic per key. Acquire takes
   * a free or expired key with a token one above the key's last, or renews for the current holder;
   * renew extends only a live lease of `holder`; release frees only `holder`'s own lease. A refusal is
   * `ok: false` naming the live holder (or "" and expiresAt 0 when the key is free).
   */
  acquireLease(key: string, holder: string, ttlMs: number): Promise<LeaseResult>;
  renewLease(key: string, holder: string, ttlMs: number): Promise<LeaseResult>;
  releaseLease(key: string, holder: string): Promise<LeaseResult>;
  /**
   * Live leases (held and not expired on the store's clock), sorted by key in code-point order, after
   * `after` and at most `limit` (LeaseListOptions): an operator's view, bounded, paged by key.
   */
  listLeases(options?: LeaseListOptions): Promise<LeaseInfo[]>;
  /**
   * Lifecycle (docs/lifecycle.md). Removed entries never come back and their sequences are never
   * reused: a deleted segment keeps a tombstone (its head, `deleted: true`) until a produce revives
   * it after its old head. Reads that start inside a removed range fail with `out_of_range`.
   */
  /**
   * Removes every entry of a segment and hides it from listings; resolves to its tombstone. `not_found`
   * if it never existed (or, without `purge`, is already purged). With `purge`, the tombstone goes too.
   */
  deleteSegment(space: string, segment: string, options?: DeleteOptions): Promise<SegmentStatus>;
  /** Deletes every segment of a space; resolves to their tombstones. `not_found` if it has none. */
  deleteSpace(space: string, options?: DeleteOptions): Promise<SegmentStatus[]>;
  /** Removes the whole store (entries, tombstones, leases, retention) and closes it; opening it again gives an empty store. */
  deleteStore(): Promise<void>;
  /** Removes the entries with sequence < beforeSequence (at most up to the head); resolves to the new head. */
  truncateSegment(space: string, segment: string, beforeSequence: number): Promise<SegmentStatus>;
  /** Marks a segment finished: produce and publish fail with `failed_precondition` from now on. Idempotent. */
  closeSegment(space: string, segment: string): Promise<SegmentStatus>;
  /** Sets a space's retention (replacing the previous one; `{}` removes it). */
  setRetention(space: string, retention: Retention): Promise<void>;
  /** A space's retention; `{}` when it has none. */
  getRetention(space: string): Promise<Retention>;
  /** Truncates every segment of every space with a retention (its own, else a default) to it. */
  enforceRetention(options?: SweepOptions): Promise<SweepResult>;
  /** Kept entries and stored bytes. */
  usage(): Promise<StoreUsage>;
  /** Idempotent. Waits for in-flight commits. */
  close(): Promise<void>;
}

export interface StoreFactory {
  /** Opens (creating if needed) the store with this id; ids arrive in lower case. */
  open(storeId: string): Promise<Store>;
  /**
   * File descriptors one open store holds (0 or absent: none of its own). The NodeManager sizes its
   * default `maxOpenStores` from it and the process's descriptor limit (docs/tenants.md).
   */
  readonly descriptorsPerStore?: number;
  /** Releases what the factory itself holds (not the stores it opened). Idempotent. */
  close?(): Promise<void>;
}
