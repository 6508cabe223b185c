import type { Redis } from "ioredis";
import type { Logger } from "../../pkg/api/logger.js";
import { Resubscriber } from "../resubscriber.js";

/**
 * The subscribing side of the Redis bus, on a dedicated connection: SUBSCRIBE per channel, every
 * channel again each time the connection becomes ready (see Resubscriber).
 */
export class ResubscribingSubscriber extends Resubscriber {
  readonly #redis: Redis;
  readonly #logger: Logger;

  /** `reconnected` is called once re-established subscriptions are active (see Resubscriber). */
  constructor(redis: Redis, timeoutMs: number, logger: Logger, reconnected: () => void) {
    super("redis bus", "Redis", timeoutMs, logger, reconnected);
    this.#redis = redis;
    this.#logger = logger;
    redis.on("messageBuffer", (channel: Buffer, message: Buffer) => this.deliver(channel.toString(), message));
    redis.on("ready", () => void this.#resubscribe());
    redis.on("close", () => this.connectionLost());
  }

  get ready(): boolean {
    return !this.closed && this.#redis.status === "ready";
  }

  protected _canSend(): boolean {
    return this.ready;
  }

  protected _subscribe(names: readonly string[]): Promise<boolean> {
    return this.#send(this.#redis.subscribe(...names));
  }

  protected _unsubscribe(name: string): Promise<boolean> {
    return this.#send(this.#redis.unsubscribe(name));
  }

  async #resubscribe(): Promise<void> {
    if (this.closed) return;
    if (await this.resubscribeAll()) this.resubscribed();
  }

  /** A command's outcome as a boolean; a failure is logged (the connection's own errors are logged elsewhere). */
  async #send(command: Promise<unknown>): Promise<boolean> {
    try {
      await command;
      return true;
    } catch (error) {
      this.#logger.debug({ err: error }, "redis bus subscription command failed");
      return false;
    }
  }
}
