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
  /** Queues `message` for every subscriber of `route`, on every instance. Never throws, never waits. */
  publish(route: string, message: Uint8Array): void;
  /**
   * Resolves once the subscription is active; the returned function removes it. A bus that cannot
   * reach its backend may resolve sooner (after a bound) and then calls the `onReconnect` listeners
   * once the subscription is active, as after an outage.
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
