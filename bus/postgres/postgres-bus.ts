import { randomBytes } from "node:crypto";
import { AbstractBus } from "../abstract-bus.js";
import type { BusHandler, ObservableBus } from "../types.js";
import { channelOf, encodeChunks } from "./chunks.js";
import { ReconnectingConnection } from "./connection.js";
import { ChannelListener } from "./listener.js";
import { type PostgresBusOptions, type ResolvedPostgresBusOptions, resolvePostgresBusOptions } from "./options.js";
import { BatchingPublisher } from "./publisher.js";

/** A bus over PostgreSQL LISTEN/NOTIFY, with what an operator surface needs beyond Bus. */
export type PostgresBus = ObservableBus;

export type PostgresBusFactory = () => PostgresBus;

/**
 * PostgreSQL LISTEN/NOTIFY bus: one connection per bus (per server instance) that both listens and
 * notifies, reconnecting by itself. A route maps to a channel named after a digest of the prefix and
 * the route; messages are cut into NOTIFY-sized chunks (see chunks.ts).
 */
class PostgresNotifyBus extends AbstractBus implements PostgresBus {
  readonly #options: ResolvedPostgresBusOptions;
  /** Distinguishes this bus's chunks from every other sender's. */
  readonly #sender = randomBytes(6).toString("base64url").replaceAll(/[-_]/g, "x");
  #serial = 0;
  readonly #connection: ReconnectingConnection;
  readonly #listener: ChannelListener;
  readonly #publisher: BatchingPublisher;

  constructor(options: ResolvedPostgresBusOptions) {
    super("postgres bus", options.logger);
    this.#options = options;
    const { logger, maxQueue, subscribeTimeoutMs } = options;
    this.#publisher = new BatchingPublisher(maxQueue, logger, (routes) => {
      for (const route of routes) this.countDropped(route);
    });
    this.#listener = new ChannelListener(
      subscribeTimeoutMs,
      logger,
      () => this.connectionChanged(),
      () => this.reconnected(),
    );
    this.#connection = new ReconnectingConnection(options, {
      up: (client) => {
        this.#publisher.up(client);
        this.#listener.up(client);
      },
      down: () => {
        this.#publisher.down();
        this.#listener.down();
        this.connectionChanged();
      },
      notification: (channel, payload) => this.#listener.dispatch(channel, payload),
    });
  }

  protected _ready(): boolean {
    return this.#listener.ready;
  }

  protected _publish(route: string, message: Uint8Array): boolean {
    return this.#publisher.publish(() => ({ route, channel: channelOf(this.#options.channelPrefix, route), chunks: encodeChunks(this.#sender, this.#serial++, message) }));
  }

  protected _subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    return this.#listener.subscribe(channelOf(this.#options.channelPrefix, route), handler);
  }

  protected override _flush(): Promise<void> {
    return this.#publisher.flush();
  }

  protected async _close(): Promise<void> {
    this.#publisher.close();
    this.#listener.close();
    await this.#connection.close(this.#options.closeTimeoutMs);
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
