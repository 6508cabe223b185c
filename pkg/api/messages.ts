import type { ErrorInfo } from "./errors.js";
import type { Entry, LeaseResult, Producer, Record, Retention, SegmentStatus, SpaceStatus, WorkerInventory } from "./types.js";
import type { EntryGroup } from "./internal/entry-groups.js";

export const API_PREFIX = "streamkit://api/v1/";

/** Message type discriminators, wire-compatible with streamkit's names (`streamkit://api/v1/<name>`). */
export const MessageTypes = {
  produce: "streamkit://api/v1/produce",
  recordBatch: "streamkit://api/v1/record_batch",
  publish: "streamkit://api/v1/publish",
  consumeSegment: "streamkit://api/v1/consume_segment",
  consumeSpace: "streamkit://api/v1/consume_space",
  consume: "streamkit://api/v1/consume",
  peek: "streamkit://api/v1/peek",
  getSpaces: "streamkit://api/v1/get_spaces",
  getSegments: "streamkit://api/v1/get_segments",
  getStatus: "streamkit://api/v1/get_status",
  segmentStatus: "streamkit://api/v1/segment_status",
  entries: "streamkit://api/v1/entries",
  entry: "streamkit://api/v1/entry",
  names: "streamkit://api/v1/names",
  storeStatus: "streamkit://api/v1/store_status",
  caughtUp: "streamkit://api/v1/caught_up",
  subscribeToSegmentStatus: "streamkit://api/v1/subscribe_to_segment_status",
  leaseAcquire: "streamkit://api/v1/lease_acquire",
  leaseRenew: "streamkit://api/v1/lease_renew",
  leaseRelease: "streamkit://api/v1/lease_release",
  leaseResult: "streamkit://api/v1/lease_result",
  subscribeWorkers: "streamkit://api/v1/subscribe_workers",
  workerKeepalive: "streamkit://api/v1/worker_keepalive",
  workerInventory: "streamkit://api/v1/worker_inventory",
  publishError: "streamkit://api/v1/publish_error",
  publishBatch: "streamkit://api/v1/publish_batch",
  publishResults: "streamkit://api/v1/publish_results",
  deleteSegment: "streamkit://api/v1/delete_segment",
  deleteSpace: "streamkit://api/v1/delete_space",
  deleteStore: "streamkit://api/v1/delete_store",
  truncateSegment: "streamkit://api/v1/truncate_segment",
  closeSegment: "streamkit://api/v1/close_segment",
  setRetention: "streamkit://api/v1/set_retention",
  getRetention: "streamkit://api/v1/get_retention",
  segmentStatuses: "streamkit://api/v1/segment_statuses",
  retention: "streamkit://api/v1/retention",
  done: "streamkit://api/v1/done",
} as const;

export type MessageType = (typeof MessageTypes)[keyof typeof MessageTypes];

/** Opens a produce stream; record batches follow on the same stream. */
export interface ProduceRequest {
  $type: typeof MessageTypes.produce;
  space: string;
  segment: string;
}

export interface RecordBatch {
  $type: typeof MessageTypes.recordBatch;
  records: Record[];
}

export interface PublishRequest {
  $type: typeof MessageTypes.publish;
  space: string;
  segment: string;
  payload: Uint8Array;
  metadata?: { [key: string]: string };
  /** Makes the publish idempotent (docs/protocol.md, Idempotent publish). */
  producer?: Producer;
  /**
   * Opens a publish lane: more publishes (`publish`, or several in a `publish_batch`) follow on the
   * stream, and `publish_results` answer every publish in the order sent; the stream ends when the
   * client half-closes (docs/protocol.md).
   */
  lane?: boolean;
}

/** Most publishes one publish_batch carries. */
export const MAX_PUBLISH_BATCH = 256;

/** One publish of a publish_batch: the fields of `publish`. */
export interface PublishItem {
  space: string;
  segment: string;
  payload: Uint8Array;
  metadata?: { [key: string]: string };
  producer?: Producer;
}

/**
 * Several publishes in one message, only on a publish lane (after its opening `publish`): the
 * publishes a client makes in one burst. Each commits or fails on its own; their results come in
 * publish_results, in order, possibly spread over several of them.
 */
export interface PublishBatch {
  $type: typeof MessageTypes.publishBatch;
  /** 1..MAX_PUBLISH_BATCH publishes. */
  publishes: PublishItem[];
}

/** Shared read bounds. All inclusive; 0 or absent means unbounded. */
export interface ReadBounds {
  minTimestamp?: number;
  maxTimestamp?: number;
  /** Absent or 0: no limit (the server still clamps to 10,000,000). */
  limit?: number;
  /** Catch-up subscription: history, then live entries. */
  follow?: boolean;
}

export interface ConsumeSegmentRequest extends ReadBounds {
  $type: typeof MessageTypes.consumeSegment;
  space: string;
  segment: string;
  minSequence?: number;
  maxSequence?: number;
  offset?: string;
}

export interface ConsumeSpaceRequest extends ReadBounds {
  $type: typeof MessageTypes.consumeSpace;
  space: string;
  offset?: string;
}

export interface ConsumeRequest extends ReadBounds {
  $type: typeof MessageTypes.consume;
  /** Space name → offset to resume after (`""` = from the start). */
  offsets: { [space: string]: string };
}

export interface PeekRequest {
  $type: typeof MessageTypes.peek;
  space: string;
  segment: string;
}

export interface GetSpacesRequest {
  $type: typeof MessageTypes.getSpaces;
}

export interface GetSegmentsRequest {
  $type: typeof MessageTypes.getSegments;
  space: string;
}

export interface GetStatusRequest {
  $type: typeof MessageTypes.getStatus;
}

/** Status subscription: a snapshot of every matching segment, then live updates and heartbeats. */
export interface SubscribeToSegmentStatusRequest {
  $type: typeof MessageTypes.subscribeToSegmentStatus;
  space: string;
  /** A segment name, or `*` for every segment of the space. */
  segment: string;
  /** 0 or absent: no heartbeats; otherwise clamped to 1–300. */
  heartbeatIntervalSeconds?: number;
}

export interface LeaseRequest {
  $type: typeof MessageTypes.leaseAcquire | typeof MessageTypes.leaseRenew | typeof MessageTypes.leaseRelease;
  key: string;
  holder: string;
  /** 1..86,400,000; not needed by release. */
  ttlMs?: number;
}

export interface LeaseResultMessage extends LeaseResult {
  $type: typeof MessageTypes.leaseResult;
}

/** Opens a worker stream (with `workerId`) or an observer stream (without). */
export interface SubscribeWorkersRequest {
  $type: typeof MessageTypes.subscribeWorkers;
  workerId?: string;
  metadata?: { [key: string]: string };
  /** How often the worker sends keepalives (ms); the server derives staleness from it. */
  keepaliveMs?: number;
}

export interface WorkerKeepalive {
  $type: typeof MessageTypes.workerKeepalive;
}

export interface WorkerInventoryMessage extends WorkerInventory {
  $type: typeof MessageTypes.workerInventory;
}

/** A follow read has delivered its history and is live from here on. */
export interface CaughtUpMessage {
  $type: typeof MessageTypes.caughtUp;
}

export interface SegmentStatusMessage extends SegmentStatus {
  $type: typeof MessageTypes.segmentStatus;
}

/** A lane message the server could not take (does not decode, is not a publish, a malformed batch): every publish it carried fails; the lane carries on. */
export interface PublishErrorMessage {
  $type: typeof MessageTypes.publishError;
  error: ErrorInfo;
}

/** The outcome of one publish of a publish_batch: its segment's head (space and segment are the publish's), or why it failed. */
export type PublishResult = Omit<SegmentStatus, "space" | "segment"> | { error: ErrorInfo };

/** The results of the next publishes of a lane, in the order they were sent, across messages. */
export interface PublishResultsMessage {
  $type: typeof MessageTypes.publishResults;
  results: PublishResult[];
}

/**
 * Entries of a read, in order, several to a message: runs of one batch's entries grouped (see
 * EntryGroup). Written field by field (internal/entries-codec.ts): a field added here or to
 * EntryGroup must be written there too.
 */
export interface EntriesMessage {
  $type: typeof MessageTypes.entries;
  groups: EntryGroup[];
}

export interface EntryMessage {
  $type: typeof MessageTypes.entry;
  entry: Entry;
}

export interface NamesMessage {
  $type: typeof MessageTypes.names;
  names: string[];
}

export interface StoreStatusMessage {
  $type: typeof MessageTypes.storeStatus;
  storeId: string;
  spaces: SpaceStatus[];
}

/** Lifecycle requests (docs/lifecycle.md): each answers with one message. */
export interface DeleteSegmentRequest {
  $type: typeof MessageTypes.deleteSegment;
  space: string;
  segment: string;
  /** A hard purge: the tombstone goes too, so the segment's sequences start at 1 again. */
  purge?: boolean;
}

export interface DeleteSpaceRequest {
  $type: typeof MessageTypes.deleteSpace;
  space: string;
  /** A hard purge of every segment of the space, deleted ones included. */
  purge?: boolean;
}

export interface DeleteStoreRequest {
  $type: typeof MessageTypes.deleteStore;
}

export interface TruncateSegmentRequest {
  $type: typeof MessageTypes.truncateSegment;
  space: string;
  segment: string;
  /** Entries with a sequence below it are removed. */
  beforeSequence: number;
}

export interface CloseSegmentRequest {
  $type: typeof MessageTypes.closeSegment;
  space: string;
  segment: string;
}

export interface SetRetentionRequest {
  $type: typeof MessageTypes.setRetention;
  space: string;
  retention: Retention;
}

export interface GetRetentionRequest {
  $type: typeof MessageTypes.getRetention;
  space: string;
}

/** The answer to delete_space: the tombstones of its segments. */
export interface SegmentStatusesMessage {
  $type: typeof MessageTypes.segmentStatuses;
  statuses: SegmentStatus[];
}

/** A space's retention, as now in force. */
export interface RetentionMessage {
  $type: typeof MessageTypes.retention;
  space: string;
  retention: Retention;
}

/** An operation with nothing to report succeeded. */
export interface DoneMessage {
  $type: typeof MessageTypes.done;
}

/** Messages that open a logical stream (the first message routes it). */
export type Request =
  | ProduceRequest
  | PublishRequest
  | ConsumeSegmentRequest
  | ConsumeSpaceRequest
  | ConsumeRequest
  | PeekRequest
  | GetSpacesRequest
  | GetSegmentsRequest
  | GetStatusRequest
  | SubscribeToSegmentStatusRequest
  | LeaseRequest
  | SubscribeWorkersRequest
  | DeleteSegmentRequest
  | DeleteSpaceRequest
  | DeleteStoreRequest
  | TruncateSegmentRequest
  | CloseSegmentRequest
  | SetRetentionRequest
  | GetRetentionRequest;

export type Response =
  | SegmentStatusMessage
  | PublishErrorMessage
  | PublishResultsMessage
  | EntriesMessage
  | EntryMessage
  | NamesMessage
  | StoreStatusMessage
  | CaughtUpMessage
  | LeaseResultMessage
  | WorkerInventoryMessage
  | SegmentStatusesMessage
  | RetentionMessage
  | DoneMessage;

export type Message = Request | RecordBatch | PublishBatch | WorkerKeepalive | Response;

/**
 * Requests a read-only scope may make (consume, peek, list, status, subscribe). A `:read` scope may
 * observe workers but not register one: the workers handler checks that itself.
 */
export const READ_ONLY_REQUESTS: ReadonlySet<string> = new Set([
  MessageTypes.consumeSegment,
  MessageTypes.consumeSpace,
  MessageTypes.consume,
  MessageTypes.peek,
  MessageTypes.getSpaces,
  MessageTypes.getSegments,
  MessageTypes.getStatus,
  MessageTypes.subscribeToSegmentStatus,
  MessageTypes.subscribeWorkers,
  MessageTypes.getRetention,
]);

/** The short op name of a message type (`streamkit://api/v1/produce` → `produce`). */
export function opName(type: string): string {
  return type.startsWith(API_PREFIX) ? type.slice(API_PREFIX.length) : type;
}

/**
 * The access a stream's first message needs. Reads, listings, status and subscriptions need `read`;
 * everything else, and registering a worker (subscribe_workers with a workerId), needs `write`.
 */
export function requiredAccess(message: { $type: unknown; workerId?: unknown }): "read" | "write" {
  if (typeof message.$type !== "string" || !READ_ONLY_REQUESTS.has(message.$type)) return "write";
  if (message.$type === MessageTypes.subscribeWorkers && message.workerId !== undefined && message.workerId !== null) return "write";
  return "read";
}
