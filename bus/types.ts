/** Receives one message published to a route the handler subscribed to. */
export type BusHandler = (message: Uint8Array) => void;

export interface BusStats {
  /** Messages handed to publish. */
  published: number;
  /** Messages dropped because the bus could not carry them (queue full, connection down). */
  dropped: number;
}

/**
 * Carries notifications between server instances (docs/design.md, Buses). A slow or failing bus never blocks
 * or fails a publisher: `publish` returns at once and a message it cannot carry is dropped and counted.
 */
export interface Bus {
  /**
   * Queues `message` for every subscriber of `route`, on every instance. Never waits, and never throws
   * at run time (closed, disconnected, full: the message is dropped and counted); a route that is not
   * a non-empty string or a message that is not a Uint8Array is a programmer's mistake: TypeError.
   */
  publish(route: string, message: Uint8Array): void;
  /**
   * Resolves once the subscription is active; the returned function removes it. A bus that cannot
   * reach its backend may resolve sooner (after a bound) and then calls the `onReconnect` listeners
   * once the subscription is active, as after an outage. Rejects with TypeError for a bad route or
   * handler, and with an `unavailable` StreamsError once the bus is closed.
   */
  subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>>;
  /**
   * Called after the bus re-established its subscriptions following an outage, so that subscribers
   * can refresh whatever they might have missed. Returns a function that removes the listener.
   */
  onReconnect(listener: () => void): () => void;
  /** Whether the bus can carry messages right now (readiness). */
  readonly connected: boolean;
  readonly stats: BusStats;
  /** Idempotent. */
  close(): Promise<void>;
}

export type BusFactory = () => Bus;

/** A bus that also reports its connection and can let pending messages out: every AbstractBus. */
export interface ObservableBus extends Bus {
  /** Calls `listener` with the new value whenever `connected` changes. Returns a function that removes it. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /**
   * Calls `listener` with the route of each message the bus took but could not hand on: dropped by
   * `publish` (connecting, down, queue full) or failed after (an error answer, a connection lost with
   * it in flight). Never after `close()`. A publisher can so announce again what no instance heard
   * (docs/design.md, Buses). Returns a function that removes the listener.
   */
  onDropped(listener: (route: string) => void): () => void;
  /**
   * Resolves once every message published so far was handed on (answered by Redis, sent to
   * PostgreSQL) or dropped, so that a shutdown can let pending notifications out. Never rejects.
   */
  flush(): Promise<void>;
}
