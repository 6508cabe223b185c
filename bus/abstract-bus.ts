import { StreamsError } from "../pkg/api/index.js";
import type { Logger } from "../pkg/api/logger.js";
import type { BusHandler, BusStats, ObservableBus } from "./types.js";

/**
 * Base of every bus, as AbstractStore is of every store (docs/design.md, Buses): public methods check
 * their arguments (a wrong type is a programmer's mistake: TypeError) and the bus's state (closed:
 * `unavailable` StreamsError, or a counted drop for `publish`, which never throws at run time), then
 * call the backend's `_method`. It keeps the counts, the listeners and the idempotent close, so a
 * backend only moves bytes.
 */
export abstract class AbstractBus implements ObservableBus {
  readonly #name: string;
  readonly #logger: Logger;
  readonly #stats: BusStats = { published: 0, dropped: 0 };
  readonly #connectionListeners = new Set<(connected: boolean) => void>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #droppedListeners = new Set<(route: string) => void>();
  /** What the connection listeners last heard; undefined until one listens. */
  #lastConnected: boolean | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** `name` ("redis bus") starts the lines logged when a listener throws. */
  protected constructor(name: string, logger: Logger) {
    this.#name = name;
    this.#logger = logger;
  }

  get connected(): boolean {
    return !this.#closed && this._ready();
  }

  get stats(): BusStats {
    return { ...this.#stats };
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  publish(route: string, message: Uint8Array): void {
    checkRoute(route);
    if (!(message instanceof Uint8Array)) throw new TypeError("message must be a Uint8Array");
    this.#stats.published++;
    if (this.#closed) this.#stats.dropped++;
    else if (!this._publish(route, message)) this.countDropped(route);
  }

  async subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    checkRoute(route);
    checkFunction(handler, "handler");
    if (this.#closed) throw new StreamsError("unavailable", `${this.#name} is closed`);
    return this._subscribe(route, handler);
  }

  /** A closed bus never reconnects: the listener is not kept. */
  onReconnect(listener: () => void): () => void {
    checkFunction(listener, "listener");
    return this.#listen(this.#reconnectListeners, listener);
  }

  onDropped(listener: (route: string) => void): () => void {
    checkFunction(listener, "listener");
    return this.#listen(this.#droppedListeners, listener);
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    checkFunction(listener, "listener");
    this.#lastConnected ??= this.connected;
    return this.#listen(this.#connectionListeners, listener);
  }

  flush(): Promise<void> {
    return this._flush();
  }

  /** Idempotent: later publishes are dropped and counted, later subscribes are `unavailable`. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.connectionChanged();
    this.#connectionListeners.clear();
    this.#reconnectListeners.clear();
    this.#droppedListeners.clear();
    this.#closing = this._close();
    return this.#closing;
  }

  /**
   * Counts a message to `route` that could not be handed on, and tells the dropped listeners; the
   * backend calls it for what it dropped after `_publish` took it (a failed send, a lost connection).
   */
  protected countDropped(route: string): void {
    this.#stats.dropped++;
    if (this.#closed) return;
    this.#notify(this.#droppedListeners, (listener) => listener(route), "dropped listener");
  }

  /** The backend's readiness may have changed: tells the connection listeners if `connected` did. */
  protected connectionChanged(): void {
    const connected = this.connected;
    const previous = this.#lastConnected;
    this.#lastConnected = connected;
    if (previous === undefined || previous === connected) return;
    this.#notify(this.#connectionListeners, (listener) => listener(connected), "connection listener");
  }

  /** The backend's subscriptions are active again after an outage: subscribers refresh what they may have missed. */
  protected reconnected(): void {
    if (this.#closed) return;
    this.#notify(this.#reconnectListeners, (listener) => listener(), "reconnect listener");
  }

  /** Whether the backend can carry messages now. */
  protected abstract _ready(): boolean;
  /** Sends or queues `message`, copying what it keeps; false drops it (counted). Never throws. */
  protected abstract _publish(route: string, message: Uint8Array): boolean;
  /** Adds `handler` to `route`; resolves once active (or after the backend's bound when it cannot be reached). */
  protected abstract _subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>>;
  /** Releases the backend's connections; called once. */
  protected abstract _close(): Promise<void>;

  protected _flush(): Promise<void> {
    return Promise.resolve();
  }

  #listen<L>(listeners: Set<L>, listener: L): () => void {
    if (this.#closed) return () => undefined;
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }

  #notify<L>(listeners: ReadonlySet<L>, call: (listener: L) => void, what: string): void {
    for (const listener of [...listeners]) {
      try {
        call(listener);
      } catch (error) {
        // One listener's failure must not reach the others, nor the backend that reported the change.
        this.#logger.error({ err: error }, `${this.#name} ${what} threw`);
      }
    }
  }
}

function checkRoute(route: unknown): void {
  if (typeof route !== "string" || route === "") throw new TypeError("route must be a non-empty string");
}

function checkFunction(value: unknown, name: string): void {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
}
