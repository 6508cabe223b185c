import type { Redis } from "ioredis";
import { AbstractBus } from "../abstract-bus.js";
import type { BusHandler, ObservableBus } from "../types.js";
import { closeConnection, openConnection } from "./connection.js";
import { type RedisBusOptions, type ResolvedRedisBusOptions, resolveRedisBusOptions } from "./options.js";
import { BoundedPublisher } from "./publisher.js";
import { ResubscribingSubscriber } from "./subscriber.js";

/** A bus over Redis pub/sub, with what an operator surface needs beyond Bus. */
export type RedisBus = ObservableBus;

export type RedisBusFactory = () => RedisBus;

/**
 * Redis pub/sub bus: a publisher connection and a dedicated subscriber connection, each reconnecting
 * by itself. A route maps to the channel `channelPrefix + route`; messages are binary.
 */
class RedisPubSubBus extends AbstractBus implements RedisBus {
  readonly #options: ResolvedRedisBusOptions;
  readonly #publisherConnection: Redis;
  readonly #subscriberConnection: Redis;
  readonly #publisher: BoundedPublisher;
  readonly #subscriber: ResubscribingSubscriber;

  constructor(options: ResolvedRedisBusOptions) {
    super("redis bus", options.logger);
    this.#options = options;
    const { url, maxReconnectDelayMs, logger, maxQueue, subscribeTimeoutMs } = options;
    this.#publisherConnection = openConnection({ url, role: "publisher", maxReconnectDelayMs, logger });
    this.#subscriberConnection = openConnection({ url, role: "subscriber", maxReconnectDelayMs, logger });
    this.#publisher = new BoundedPublisher(this.#publisherConnection, maxQueue, logger, (channel) =>
      this.countDropped(channel.slice(options.channelPrefix.length)),
    );
    this.#subscriber = new ResubscribingSubscriber(this.#subscriberConnection, subscribeTimeoutMs, logger, () => this.reconnected());
    for (const connection of [this.#publisherConnection, this.#subscriberConnection]) {
      connection.on("ready", () => this.connectionChanged());
      connection.on("close", () => this.connectionChanged());
    }
  }

  protected _ready(): boolean {
    return this.#publisher.ready && this.#subscriber.ready;
  }

  protected _publish(route: string, message: Uint8Array): boolean {
    return this.#publisher.publish(this.#options.channelPrefix + route, message);
  }

  protected _subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    return this.#subscriber.subscribe(this.#options.channelPrefix + route, handler);
  }

  protected override _flush(): Promise<void> {
    return this.#publisher.flush();
  }

  protected async _close(): Promise<void> {
    this.#publisher.close();
    this.#subscriber.close();
    const { closeTimeoutMs } = this.#options;
    await Promise.all([closeConnection(this.#publisherConnection, closeTimeoutMs), closeConnection(this.#subscriberConnection, closeTimeoutMs)]);
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

