import type { SegmentStatus, StreamsError } from "../api/index.js";
import type { CallOptions } from "./types.js";

/** Receives each status: the snapshot, live updates and heartbeats. A returned promise is awaited before the next one. */
export type StatusListener = (status: SegmentStatus) => void | Promise<void>;

export interface SubscribeOptions extends CallOptions {
  /** Heartbeat period; 0 or absent: none. The server clamps it to 1–300 s. */
  heartbeatIntervalSeconds?: number;
  /** Called once when the subscription ends for good with an error (a permanent one, or a failing listener). */
  onError?: (error: StreamsError) => void;
}

export type SubscriptionStatus = "connected" | "reconnecting" | "closed";

export interface SubscriptionState {
  status: SubscriptionStatus;
  /** Ms since epoch of the last message from the server (status, heartbeat or acknowledgement). */
  lastMessageAt: number;
  /** Times the subscription was re-established after a transient failure. */
  reconnects: number;
}

/**
 * The handle of a live stream the SDK keeps up: a status subscription, a worker registration or an
 * inventory observation.
 */
export interface Subscription extends AsyncDisposable {
  /** Ends the stream (a worker leaves at once); the listener is not called again once this resolves. Idempotent. */
  unsubscribe(): Promise<void>;
  /** Settles when the stream ends for good: with the error that ended it, or undefined after `unsubscribe`. */
  readonly closed: Promise<StreamsError | undefined>;
  readonly state: SubscriptionState;
}

/** An established status subscription. */
export type StatusSubscription = Subscription;
