import type { Entry, Record, SegmentStatus, SpaceStatus } from "./types.js";

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

export interface SegmentStatusMessage extends SegmentStatus {
  $type: typeof MessageTypes.segmentStatus;
}

/** Entries of a read, in order, several to a message. */
export interface EntriesMessage {
  $type: typeof MessageTypes.entries;
  entries: Entry[];
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
  | GetStatusRequest;

export type Response = SegmentStatusMessage | EntriesMessage | EntryMessage | NamesMessage | StoreStatusMessage;

export type Message = Request | RecordBatch | Response;

/** Requests a read-only scope may make (consume, peek, list, status). */
export const READ_ONLY_REQUESTS: ReadonlySet<string> = new Set([
  MessageTypes.consumeSegment,
  MessageTypes.consumeSpace,
  MessageTypes.consume,
  MessageTypes.peek,
  MessageTypes.getSpaces,
  MessageTypes.getSegments,
  MessageTypes.getStatus,
]);

/** The short op name of a message type (`streamkit://api/v1/produce` → `produce`). */
export function opName(type: string): string {
  return type.startsWith(API_PREFIX) ? type.slice(API_PREFIX.length) : type;
}
