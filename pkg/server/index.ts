export { createNodeManager, type NodeInfo, type OpenStoresInfo, type StoreNodeManager } from "./node-manager.js";
export { defaultMaxOpenStores, descriptorLimit, openDescriptors } from "./descriptors.js";
export { StoreNode, type StoreNodeOptions } from "./node.js";
export type { FollowerDetail, FollowerTargetDetail, SegmentDetail, SpaceDetail, StoreDetail } from "./store-detail.js";
export type { CircuitInfo, CircuitState } from "./circuit-breaker.js";
export type { Logger } from "../api/logger.js";
export { silentLogger } from "../api/logger.js";
export {
  type CircuitBreakerOptions,
  DEFAULT_BUSY_RETRY_AFTER_MS,
  DEFAULT_CIRCUIT_BREAKER,
  DEFAULT_IDLE_EVICTION,
  DEFAULT_LIMITS,
  type IdleEvictionOptions,
  MAX_CONSUME_LIMIT,
  type NodeManagerOptions,
  type ServerLimits,
} from "./options.js";
export type { Node, NodeManager } from "./types.js";
export * from "./auth/index.js";
export { createMemoryBusFactory } from "../../bus/memory/index.js";
export type { Bus, BusFactory } from "../../bus/types.js";
export * from "./metrics/index.js";
export * from "./operator/index.js";
export { SpanAttributes, TRACER_NAME } from "./tracing.js";
