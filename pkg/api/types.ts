/** What a producer sends. */
export interface Record {
  sequence: number;
  payload: Uint8Array;
  metadata?: { [key: string]: string };
}

/** The transaction an entry was committed in. */
export interface Trx {
  /** Unique id of the committed batch. */
  id: string;
  /** Id of the server node that committed it. */
  node: string;
  /** Commit number, increasing along a store's commits. */
  number: number;
}

/** What a reader gets. */
export interface Entry {
  space: string;
  segment: string;
  sequence: number;
  /** Server-assigned ms since epoch, non-decreasing along a space's commit order. */
  timestamp: number;
  /** Absent only on the placeholder entry `peek` returns for an empty segment. */
  trx?: Trx;
  payload: Uint8Array;
  metadata: { [key: string]: string };
  /** Opaque, URL-safe; resumes the read this entry came from. */
  offset: string;
}

/**
 * The idempotent-publish stamp a publish carries (docs/protocol.md, Idempotent publish): the server
 * stores a publish with a given `id`, `epoch` and `sequence` once per segment, answers a retry with
 * the original acknowledgement, and fences an `epoch` older than the producer's latest.
 */
export interface Producer {
  /** Names the producer; non-empty, at most 256 bytes, no control characters. */
  id: string;
  /** Raised by a restarted producer; publishes of an older epoch are refused (`failed_precondition`). */
  epoch: number;
  /** Per producer, epoch and segment, from 0 up; the SDK assigns it. */
  sequence: number;
}

export interface SegmentStatus {
  space: string;
  segment: string;
  firstSequence: number;
  firstTimestamp: number;
  lastSequence: number;
  lastTimestamp: number;
  heartbeat?: boolean;
  /** The segment is closed: it takes no more entries (docs/lifecycle.md). */
  closed?: boolean;
  /** The segment was deleted; its sequences are kept so a later produce continues after them. */
  deleted?: boolean;
}

/**
 * Retention of a space's segments (docs/lifecycle.md): entries older than `maxAgeMs`, beyond the
 * newest `maxEntriesPerSegment`, or beyond the newest `maxBytesPerSegment` payload bytes go. Absent
 * (or 0): no bound.
 */
export interface Retention {
  maxAgeMs?: number;
  maxEntriesPerSegment?: number;
  maxBytesPerSegment?: number;
}

export interface SpaceStatus {
  space: string;
  segmentCount: number;
  entryCount: number;
  lastTimestamp: number;
}

export interface StoreStatus {
  storeId: string;
  spaces: SpaceStatus[];
}

/** Outcome of a lease operation; a refusal is `ok: false` naming the current holder, not an error. */
export interface LeaseResult {
  ok: boolean;
  /** The holder after the operation ("" when nobody holds the key). */
  holder: string;
  /** Ms since epoch when the holder's lease ends (0 when nobody holds the key). */
  expiresAt: number;
  /** Fencing token: the same across renewals, strictly greater each time the key changes hands. */
  token: number;
}

export interface WorkerInfo {
  workerId: string;
  /** Ms since epoch. */
  since: number;
  /** Ms since epoch of the last keepalive. */
  lastSeen: number;
  metadata: { [key: string]: string };
}

/** Every live worker of a store, sorted by workerId. */
export interface WorkerInventory {
  workers: WorkerInfo[];
}
