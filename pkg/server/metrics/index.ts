export {
  type ActivitySnapshot,
  type RecentError,
  ServerActivity,
  type ServerActivityOptions,
  type TrafficTotals,
} from "./activity.js";
export { type EvictionReason, noopObserver, noopStreamObserver, type ServerObserver, type StreamObserver, teeStreamObserver } from "./observer.js";
export { createMetricsRegistry, type MetricsOptions, type MetricsSources } from "./prometheus.js";
