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
  ProducerIdentity,
  PublishOptions,
  ReadQuery,
  RequestOptions,
  RecordSource,
  StreamsClient,
} from "./types.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy.js";
export type { StatusListener, StatusSubscription, SubscribeOptions, Subscription, SubscriptionState, SubscriptionStatus } from "./subscribe-types.js";
export type { InventoryListener, SubscribeWorkersOptions, WorkersSubscription } from "./workers-types.js";
export type { DeleteOptions, LifecycleClient } from "./lifecycle-types.js";
export type { Lease, LeaseClient, LeaseOptions, ReleaseLeaseOptions, WithLeaseOptions } from "./lease-types.js";
export {
  type ConnectionState,
  type ConnectionStatus,
  type Entry,
  type ErrorCode,
  type LeaseResult,
  type ErrorKind,
  type Provider,
  type Record,
  type Retention,
  type SegmentStatus,
  type SpaceStatus,
  type StoreStatus,
  StreamsError,
  type Trx,
  type WorkerInfo,
  type WorkerInventory,
} from "../api/index.js";
