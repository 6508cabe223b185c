import type { ConnectionState, Entry, Record, SegmentStatus, StoreStatus } from "../api/index.js";
import type { ProducerIdentity } from "./producer-sequences.js";
import type { RetryPolicy } from "./retry-policy.js";
import type { LeaseClient } from "./lease-types.js";
import type { LifecycleClient } from "./lifecycle-types.js";
import type { StatusListener, StatusSubscription, SubscribeOptions } from "./subscribe-types.js";
import type { InventoryListener, SubscribeWorkersOptions, WorkersSubscription } from "./workers-types.js";

export type { ProducerIdentity } from "./producer-sequences.js";
export type { StatusListener, StatusSubscription, SubscribeOptions, SubscriptionState, SubscriptionStatus } from "./subscribe-types.js";

/** The trailing options every call takes. */
export interface CallOptions {
  /** Aborting rejects the call (or ends the loop) with a `cancelled` StreamsError whose `cause` is the signal's reason. */
  signal?: AbortSignal;
}

/** Options of a call that sends one request and waits for its answer (every call but reads and subscriptions). */
export interface RequestOptions extends CallOptions {
  /**
   * Longest wait for the answer, in ms (an integer, or Infinity for none; default: the client's
   * `requestTimeoutMs`). Past it the call rejects with `deadline_exceeded`; a write that went out then
   * carries `details.outcome: "unknown"` (it may have been applied), one that did not was never sent.
   * For `produce`, each batch's status must come within it of the batch being sent.
   */
  timeoutMs?: number;
}

export interface ProduceOptions extends RequestOptions {
  /** Records per batch (each batch commits atomically). Default: the client's `batchSize`, 1,000 unless set. */
  batchSize?: number;
}

export interface PublishOptions extends RequestOptions {
  metadata?: { [key: string]: string };
  /**
   * Makes the publish idempotent (docs/protocol.md, Idempotent publish): the SDK numbers the
   * identity's publishes to each segment and, after a dropped connection, sends an unanswered one
   * again; the server stores it once and answers with the first acknowledgement.
   */
  producer?: ProducerIdentity;
}

/** Bounds shared by every read. Inclusive; 0 or absent means unbounded. */
export interface ReadQuery extends CallOptions {
  minTimestamp?: number;
  maxTimestamp?: number;
  /** Absent or 0: no limit (the server clamps to 10,000,000). */
  limit?: number;
  /** Catch-up subscription: history, then live entries. */
  follow?: boolean;
}

export interface ConsumeSegmentQuery extends ReadQuery {
  space: string;
  segment: string;
  minSequence?: number;
  maxSequence?: number;
  /** An offset from an earlier read of this segment; an alternative to `minSequence`. `""` = from the start. */
  offset?: string;
}

export interface ConsumeSpaceQuery extends ReadQuery {
  space: string;
  /** An offset from an earlier read of this space (consumeSpace or consume). `""` = from the start. */
  offset?: string;
}

export interface ConsumeQuery extends ReadQuery {
  /** Space name → offset to resume after (`""` = from the start). */
  offsets: { [space: string]: string };
}

export interface ConsumeState extends ConnectionState {
  /** Entries re-read after the iterator's last resume. */
  caughtUp: number;
}

/** A read: each iteration opens one stream and yields its entries in order. */
export interface ConsumeIterable extends AsyncIterable<Entry> {
  readonly state: ConsumeState;
}

export interface ClientOptions {
  /** Default records per produce batch. Default 1,000. */
  batchSize?: number;
  /** How consume iterators resume and subscriptions re-subscribe after transient failures. */
  retry?: Partial<RetryPolicy>;
  /**
   * Default `timeoutMs` of every call that waits for one answer (publish, produce's batches, peek,
   * listings, status, leases, lifecycle). Default Infinity: no deadline.
   */
  requestTimeoutMs?: number;
}

export type RecordSource = Iterable<Record> | AsyncIterable<Record>;

/**
 * The Streamkit client SDK (docs/design.md, Client). Arguments of a wrong type are TypeErrors, sent nowhere: the
 * promise-returning methods reject with them, the reads throw them at the call. Every other failure
 * is a StreamsError.
 */
export interface StreamsClient extends AsyncDisposable, LeaseClient, LifecycleClient {
  /** Appends records in batches pipelined on one stream; one status per committed batch. */
  produce(storeId: string, space: string, segment: string, records: RecordSource, options?: ProduceOptions): Promise<SegmentStatus[]>;
  /** Appends one record at the segment's next sequence. */
  publish(storeId: string, space: string, segment: string, payload: Uint8Array, options?: PublishOptions): Promise<SegmentStatus>;
  /** `signal` may be given in the query or in `options`, not both. */
  consumeSegment(storeId: string, query: ConsumeSegmentQuery, options?: CallOptions): ConsumeIterable;
  consumeSpace(storeId: string, query: ConsumeSpaceQuery, options?: CallOptions): ConsumeIterable;
  consume(storeId: string, query: ConsumeQuery, options?: CallOptions): ConsumeIterable;
  /** The latest entry; an empty segment gives a placeholder with sequence 0. */
  peek(storeId: string, space: string, segment: string, options?: RequestOptions): Promise<Entry>;
  getSpaces(storeId: string, options?: RequestOptions): Promise<string[]>;
  getSegments(storeId: string, space: string, options?: RequestOptions): Promise<string[]>;
  getStatus(storeId: string, options?: RequestOptions): Promise<StoreStatus>;
  /** A segment's status: snapshot, then live updates (coalesced, never going back); resolves once established. */
  subscribeToSegment(storeId: string, space: string, segment: string, onStatus: StatusListener, options?: SubscribeOptions): Promise<StatusSubscription>;
  /** Every segment of a space (segment `*`): one status per existing segment, then live updates. */
  subscribeToSpace(storeId: string, space: string, onStatus: StatusListener, options?: SubscribeOptions): Promise<StatusSubscription>;
  /** Registers a worker (`workerId`, write access) or observes the store's workers; resolves once the first inventory arrived. */
  subscribeWorkers(storeId: string, options: SubscribeWorkersOptions, onInventory: InventoryListener): Promise<WorkersSubscription>;
  readonly state: ConnectionState;
  /** Idempotent; closes the provider. Later calls reject with `unavailable`. */
  close(): Promise<void>;
}
