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

export interface SegmentStatus {
  space: string;
  segment: string;
  firstSequence: number;
  firstTimestamp: number;
  lastSequence: number;
  lastTimestamp: number;
  heartbeat?: boolean;
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
