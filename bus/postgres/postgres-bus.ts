import { randomBytes } from "node:crypto";
import type { Bus, BusHandler, BusStats } from "../types.js";
import { channelOf, encodeChunks } from "./chunks.js";
import { ReconnectingConnection } from "./connection.js";
import { ChannelListener } from "./listener.js";
import { type PostgresBusOptions, type ResolvedPostgresBusOptions, resolvePostgresBusOptions } from "./options.js";
import { BatchingPublisher } from "./publisher.js";

/** A bus over PostgreSQL LISTEN/NOTIFY, with what an operator surface needs beyond Bus. */
export interface PostgresBus extends Bus {
  /** Calls `listener` with the new value whenever `connected` changes. Returns a function that removes it. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /** Resolves once every message published so far was sent or dropped. Never rejects. */
  flush(): Promise<void>;
}

export type PostgresBusFactory = () => PostgresBus;

/**
 * PostgreSQL LISTEN/NOTIFY bus: one connection per bus (per server instance) that both listens and
 * notifies, reconnecting by itself. A route maps to a channel named after a digest of the prefix and
 * the route; messages are cut into NOTIFY-sized chunks (see chunks.ts).
 */
class PostgresNotifyBus implements PostgresBus {
  readonly #options: ResolvedPostgresBusOptions;
  /** Distinguishes this bus's chunks from every other sender's. */
  readonly #sender = randomBytes(6).toString("base64url").replaceAll(/[-_]/g, "x");
  #serial = 0;
  readonly #connection: ReconnectingConnection;
  readonly #listener: ChannelListener;
  readonly #publisher: BatchingPublisher;
  readonly #connectionListeners = new Set<(connected: boolean) => void>();
  #lastConnected = false;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedPostgresBusOptions) {
    this.#options = options;
    const { logger, maxQueue, subscribeTimeoutMs } = options;
    this.#publisher = new BatchingPublisher(maxQueue, logger);
    this.#listener = new ChannelListener(subscribeTimeoutMs, logger, () => this.#reportConnection());
    this.#connection = new ReconnectingConnection(options, {
      up: (client) => {
        this.#publisher.up(client);
        this.#listener.up(client);
      },
      down: () => {
        this.#publisher.down();
        this.#listener.down();
        this.#reportConnection();
      },
      notification: (channel, payload) => this.#listener.dispatch(channel, payload),
    });
  }

  get connected(): boolean {
    return this.#closing === undefined && this.#listener.ready;
  }

  get stats(): BusStats {
    return this.#publisher.stats;
  }

  publish(route: string, message: Uint8Array): void {
    this.#publisher.publish(() => ({ channel: channelOf(this.#options.channelPrefix, route), chunks: encodeChunks(this.#sender, this.#serial++, message) }));
  }

  async subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    if (typeof route !== "string" || route === "") throw new TypeError("route must be a non-empty string");
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    if (this.#closing !== undefined) throw new TypeError("bus is closed");
    return this.#listener.subscribe(channelOf(this.#options.channelPrefix, route), handler);
  }

  onReconnect(listener: () => void): () => void {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    return this.#listener.onReconnect(listener);
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
    this.#listener.close();
    this.#reportConnection();
    this.#connectionListeners.clear();
    await this.#connection.close(this.#options.closeTimeoutMs);
  }

  #reportConnection(): void {
    const connected = this.connected;
    if (connected === this.#lastConnected) return;
    this.#lastConnected = connected;
    for (const listener of [...this.#connectionListeners]) {
      try {
        listener(connected);
      } catch (error) {
        this.#options.logger.error({ err: error }, "postgres bus connection listener threw");
      }
    }
  }
}

/**
 * A factory of PostgreSQL buses: each bus (one per server instance) opens its own connection to
 * `connectionString`; buses of any factory on the same database and `channelPrefix` see each other's
 * messages. The deployment guide (docs/deployment.md) says when to prefer it to Redis.
 */
export function createPostgresBusFactory(options: PostgresBusOptions): PostgresBusFactory {
  const resolved = resolvePostgresBusOptions(options);
  return () => new PostgresNotifyBus(resolved);
}
