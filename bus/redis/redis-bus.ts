import type { Redis } from "ioredis";
import type { Bus, BusHandler, BusStats } from "../types.js";
import { closeConnection, openConnection } from "./connection.js";
import { type RedisBusOptions, type ResolvedRedisBusOptions, resolveRedisBusOptions } from "./options.js";
import { BoundedPublisher } from "./publisher.js";
import { ResubscribingSubscriber } from "./subscriber.js";

/** A bus over Redis pub/sub, with what an operator surface needs beyond Bus. */
export interface RedisBus extends Bus {
  /** Calls `listener` with the new value whenever `connected` changes. Returns a function that removes it. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /**
   * Resolves once every message published so far was answered by Redis or failed (with the
   * connection), so that a shutdown can let pending notifications out. Never rejects.
   */
  flush(): Promise<void>;
}

export type RedisBusFactory = () => RedisBus;

/**
 * Redis pub/sub bus: a publisher connection and a dedicated subscriber connection, each reconnecting
 * by itself. A route maps to the channel `channelPrefix + route`; messages are binary.
 */
class RedisPubSubBus implements RedisBus {
  readonly #options: ResolvedRedisBusOptions;
  readonly #publisherConnection: Redis;
  readonly #subscriberConnection: Redis;
  readonly #publisher: BoundedPublisher;
  readonly #subscriber: ResubscribingSubscriber;
  readonly #connectionListeners = new Set<(connected: boolean) => void>();
  #lastConnected = false;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedRedisBusOptions) {
    this.#options = options;
    const { url, maxReconnectDelayMs, logger, maxQueue, subscribeTimeoutMs } = options;
    this.#publisherConnection = openConnection({ url, role: "publisher", maxReconnectDelayMs, logger });
    this.#subscriberConnection = openConnection({ url, role: "subscriber", maxReconnectDelayMs, logger });
    this.#publisher = new BoundedPublisher(this.#publisherConnection, maxQueue, logger);
    this.#subscriber = new ResubscribingSubscriber(this.#subscriberConnection, subscribeTimeoutMs, logger);
    for (const connection of [this.#publisherConnection, this.#subscriberConnection]) {
      connection.on("ready", () => this.#reportConnection());
      connection.on("close", () => this.#reportConnection());
    }
  }

  get connected(): boolean {
    return this.#closing === undefined && this.#publisher.ready && this.#subscriber.ready;
  }

  get stats(): BusStats {
    return this.#publisher.stats;
  }

  publish(route: string, message: Uint8Array): void {
    this.#publisher.publish(this.#options.channelPrefix + route, message);
  }

  async subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    if (typeof route !== "string" || route === "") throw new TypeError("route must be a non-empty string");
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    if (this.#closing !== undefined) throw new TypeError("bus is closed");
    return this.#subscriber.subscribe(this.#options.channelPrefix + route, handler);
  }

  onReconnect(listener: () => void): () => void {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    return this.#subscriber.onReconnect(listener);
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    this.#connectionListeners.add(listener);
    return () => void this.#connectionListeners.delete(listener);
  }

  flush(): Promise<void> {
    return this.#publisher.flush();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#publisher.close();
    this.#subscriber.close();
    this.#reportConnection();
    this.#connectionListeners.clear();
    const { closeTimeoutMs } = this.#options;
    await Promise.all([closeConnection(this.#publisherConnection, closeTimeoutMs), closeConnection(this.#subscriberConnection, closeTimeoutMs)]);
  }

  #reportConnection(): void {
    const connected = this.connected;
    if (connected === this.#lastConnected) return;
    this.#lastConnected = connected;
    for (const listener of [...this.#connectionListeners]) {
      try {
        listener(connected);
      } catch (error) {
        this.#options.logger.error({ err: error }, "redis bus connection listener threw");
      }
    }
  }
}

/**
 * A factory of Redis buses: each bus (one per server instance) opens its own two connections to
 * `url`; buses of any factory on the same Redis and `channelPrefix` see each other's messages.
 */
export function createRedisBusFactory(options: RedisBusOptions): RedisBusFactory {
  const resolved = resolveRedisBusOptions(options);
  return () => new RedisPubSubBus(resolved);
}

