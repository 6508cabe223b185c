import type { Redis } from "ioredis";
import type { Logger } from "../../pkg/api/logger.js";
import type { BusHandler } from "../types.js";
import { settlesWithin, valueWithin } from "../bounded.js";

/** One subscribe call; a distinct object even when the same function subscribes twice. */
interface HandlerEntry {
  readonly handler: BusHandler;
}

interface Channel {
  readonly entries: Set<HandlerEntry>;
  /** Settles true once Redis acknowledged the latest SUBSCRIBE of this channel, false if it failed. */
  established: Promise<boolean>;
}

/** A promise settled from outside: the outcome of the next re-subscription after (re)connecting. */
interface Outcome {
  readonly promise: Promise<boolean>;
  readonly settle: (established: boolean) => void;
}

function newOutcome(): Outcome {
  let settle: (established: boolean) => void = () => undefined;
  const promise = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  return { promise, settle };
}

/**
 * The subscribing side of the Redis bus, on a dedicated connection. All handlers of a channel share
 * one Redis subscription. Each time the connection becomes ready it subscribes every channel again
 * and, once Redis acknowledged them, calls `reconnected` — after an outage, or when a
 * `subscribe` had to resolve before Redis acknowledged it — so that they refresh what they missed.
 */
export class ResubscribingSubscriber {
  readonly #redis: Redis;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #reconnected: () => void;
  readonly #channels = new Map<string, Channel>();
  #nextResubscription = newOutcome();
  #everEstablished = false;
  /** A subscribe resolved without Redis's acknowledgement: the next one owes the listeners a call. */
  #refreshOwed = false;
  #closed = false;

  /** `reconnected` is called once re-established subscriptions are active (see the class comment). */
  constructor(redis: Redis, timeoutMs: number, logger: Logger, reconnected: () => void) {
    this.#redis = redis;
    this.#reconnected = reconnected;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    redis.on("messageBuffer", (channel: Buffer, message: Buffer) => this.#dispatch(channel.toString(), message));
    redis.on("ready", () => void this.#resubscribeAll());
    redis.on("close", () => this.#settleNextResubscription(false));
  }

  get ready(): boolean {
    return !this.#closed && this.#redis.status === "ready";
  }

  /**
   * Resolves once Redis acknowledged the channel's subscription. When Redis is unreachable it resolves
   * after at most `timeoutMs` anyway, with the channel kept: it is subscribed as soon as the connection
   * is back, and `reconnected` is called then.
   */
  async subscribe(channelName: string, handler: BusHandler): Promise<() => Promise<void>> {
    const entry: HandlerEntry = { handler };
    const channel = this.#channels.get(channelName) ?? this.#addChannel(channelName);
    channel.entries.add(entry);
    let removed: Promise<void> | undefined;
    const unsubscribe = () => (removed ??= this.#remove(channelName, channel, entry));

    const established = channel.established;
    const acknowledged = await valueWithin(established, this.#timeoutMs, false);
    if (!acknowledged && !this.#closed) {
      this.#refreshOwed = true;
      this.#logger.info({ channel: channelName }, "redis bus subscribed before Redis acknowledged; will refresh when it does");
      void established.then((late) => {
        if (late) this.#payOwedRefresh();
      });
    }
    return unsubscribe;
  }

  close(): void {
    this.#closed = true;
    this.#channels.clear();
    this.#settleNextResubscription(false);
  }

  #addChannel(name: string): Channel {
    // Not ready: the channel joins the re-subscription that runs when the connection is.
    const established = this.ready ? this.#send(this.#redis.subscribe(name)) : this.#nextResubscription.promise;
    const channel: Channel = { entries: new Set(), established };
    this.#channels.set(name, channel);
    return channel;
  }

  async #remove(name: string, channel: Channel, entry: HandlerEntry): Promise<void> {
    if (!channel.entries.delete(entry) || channel.entries.size > 0) return;
    if (this.#channels.get(name) !== channel) return;
    this.#channels.delete(name);
    // Not ready: the channel simply is not subscribed again.
    if (this.ready) await settlesWithin(this.#send(this.#redis.unsubscribe(name)), this.#timeoutMs);
  }

  async #resubscribeAll(): Promise<void> {
    if (this.#closed) return;
    const waiting = this.#nextResubscription;
    this.#nextResubscription = newOutcome();
    const channels = [...this.#channels.entries()];
    const subscribed = channels.length === 0 ? Promise.resolve(true) : this.#send(this.#redis.subscribe(...channels.map(([name]) => name)));
    for (const [, channel] of channels) channel.established = subscribed;
    const established = await subscribed;
    waiting.settle(established);
    if (!established || this.#closed) return;
    if (this.#everEstablished) this.#refreshOwed = true;
    this.#everEstablished = true;
    this.#payOwedRefresh();
  }

  #settleNextResubscription(established: boolean): void {
    const waiting = this.#nextResubscription;
    this.#nextResubscription = newOutcome();
    waiting.settle(established);
  }

  #payOwedRefresh(): void {
    if (!this.#refreshOwed || this.#closed) return;
    this.#refreshOwed = false;
    this.#logger.info({ channels: this.#channels.size }, "redis bus subscriptions re-established");
    this.#reconnected();
  }

  #dispatch(name: string, message: Buffer): void {
    const channel = this.#channels.get(name);
    if (channel === undefined) return;
    for (const { handler } of [...channel.entries]) {
      try {
        handler(message);
      } catch (error) {
        this.#logger.error({ err: error, channel: name }, "redis bus handler threw");
      }
    }
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
