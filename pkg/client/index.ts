export { createClient } from "./client.js";
export type {
  CallOptions,
  ClientOptions,
  ConsumeIterable,
  ConsumeQuery,
  ConsumeSegmentQuery,
  ConsumeSpaceQuery,
  ConsumeState,
  ProduceOptions,
  PublishOptions,
  ReadQuery,
  RecordSource,
  StreamsClient,
} from "./types.js";
export {
  type ConnectionState,
  type ConnectionStatus,
  type Entry,
  type ErrorCode,
  type ErrorKind,
  type Provider,
  type Record,
  type SegmentStatus,
  type SpaceStatus,
  type StoreStatus,
  StreamsError,
  type Trx,
} from "../api/index.js";
