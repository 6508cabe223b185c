import { MessageTypes, opName } from "../../api/internal/index.js";

/**
 * Where ServerActivity hands the durations it hears (the Prometheus histograms listen here), so
 * the activity itself needs no metrics library. Calls must be cheap and must never throw.
 */
export interface TimingSink {
  /** A store commit (produce batch or publish), from handing it to the store until durable. */
  commit(seconds: number): void;
  /** A request until its first answer (docs/operator.md, Metrics). */
  request(op: string, seconds: number): void;
  /** A live entry of a follow, from its commit timestamp until it was handed to the connection. */
  followLag(seconds: number): void;
}

/** The operations a stream can open with: the label values of the per-op metrics, all shown from the start. */
export const STREAM_OPS: readonly string[] = [
  MessageTypes.produce,
  MessageTypes.publish,
  MessageTypes.consumeSegment,
  MessageTypes.consumeSpace,
  MessageTypes.consume,
  MessageTypes.peek,
  MessageTypes.getSpaces,
  MessageTypes.getSegments,
  MessageTypes.getStatus,
  MessageTypes.subscribeToSegmentStatus,
  MessageTypes.leaseAcquire,
  MessageTypes.leaseRenew,
  MessageTypes.leaseRelease,
  MessageTypes.subscribeWorkers,
  MessageTypes.deleteSegment,
  MessageTypes.deleteSpace,
  MessageTypes.deleteStore,
  MessageTypes.truncateSegment,
  MessageTypes.closeSegment,
  MessageTypes.setRetention,
  MessageTypes.getRetention,
].map(opName);

/** Seconds since `startMs` (a performance.now() reading). */
export const secondsSince = (startMs: number): number => (performance.now() - startMs) / 1000;
