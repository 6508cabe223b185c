import type { Logger } from "../pkg/api/logger.js";
import { settlesWithin, valueWithin } from "./bounded.js";
import type { BusHandler } from "./types.js";

/** One subscribe call; a distinct object even when the same function subscribes twice. */
interface HandlerEntry {
  readonly handler: BusHandler;
}

interface Channel {
  readonly entries: Set<HandlerEntry>;
  /** Settles true once the server acknowledged this channel's latest subscription, false if it failed. */
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
 * The subscribing side of a network bus (Redis SUBSCRIBE, PostgreSQL LISTEN). All handlers of a
 * channel share one server subscription. Each time a connection comes up the backend calls
 * `resubscribeAll`, and once the server acknowledged, `resubscribed`, which calls `reconnected`
 * after an outage, or when a `subscribe` had to resolve before the server acknowledged, so that
 * subscribers refresh what they may have missed.
 */
export abstract class Resubscriber {
  readonly #label: string;
  readonly #server: string;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #reconnected: () => void;
  readonly #channels = new Map<string, Channel>();
  #nextResubscription = newOutcome();
  #everEstablished = false;
  /** A subscribe resolved without the server's acknowledgement: the next one owes `reconnected` a call. */
  #refreshOwed = false;
  #closed = false;

  /** `label` ("redis bus") and `server` ("Redis") name it in log lines. */
  protected constructor(label: string, server: string, timeoutMs: number, logger: Logger, reconnected: () => void) {
    this.#label = label;
    this.#server = server;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    this.#reconnected = reconnected;
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves once the server acknowledged the channel's subscription. When the server is unreachable
   * it resolves after at most `timeoutMs` anyway, with the channel kept: it is subscribed as soon as
   * the connection is back, and `reconnected` is called then.
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
      this.#logger.info({ channel: channelName }, `${this.#label} subscribed before ${this.#server} acknowledged; will refresh when it does`);
      void established.then((late) => {
        if (late) this.#payOwedRefresh();
      });
    }
    return unsubscribe;
  }

  close(): void {
    this.#closed = true;
    this.#channels.clear();
    this.connectionLost();
  }

  protected hasChannel(name: string): boolean {
    return this.#channels.has(name);
  }

  /** Hands `message` to the channel's handlers; a throwing handler is logged and reaches no other. */
  protected deliver(name: string, message: Uint8Array): void {
    const channel = this.#channels.get(name);
    if (channel === undefined) return;
    for (const { handler } of [...channel.entries]) {
      try {
        handler(message);
      } catch (error) {
        this.#logger.error({ err: error, channel: name }, `${this.#label} handler threw`);
      }
    }
  }

  /** Subscribes every channel on a new connection; true once the server acknowledged and this is still open. */
  protected async resubscribeAll(): Promise<boolean> {
    const waiting = this.#nextResubscription;
    this.#nextResubscription = newOutcome();
    const channels = [...this.#channels.entries()];
    const subscribed = channels.length === 0 ? Promise.resolve(true) : this._subscribe(channels.map(([name]) => name));
    for (const [, channel] of channels) channel.established = subscribed;
    const established = await subscribed;
    waiting.settle(established);
    return established && !this.#closed;
  }

  /** The connection's subscriptions are active (after `resubscribeAll`): pays what is owed to `reconnected`. */
  protected resubscribed(): void {
    if (this.#everEstablished) this.#refreshOwed = true;
    this.#everEstablished = true;
    this.#payOwedRefresh();
  }

  /** The connection went down: channels added meanwhile wait for the next one. */
  protected connectionLost(): void {
    const waiting = this.#nextResubscription;
    this.#nextResubscription = newOutcome();
    waiting.settle(false);
  }

  /** Whether a command can be sent now. */
  protected abstract _canSend(): boolean;
  /** Subscribes `names`; resolves whether the server acknowledged (never rejects). */
  protected abstract _subscribe(names: readonly string[]): Promise<boolean>;
  /** Unsubscribes `name`; resolves either way. */
  protected abstract _unsubscribe(name: string): Promise<unknown>;

  #addChannel(name: string): Channel {
    // No connection: the channel joins the re-subscription that runs when one comes up.
    const established = this._canSend() ? this._subscribe([name]) : this.#nextResubscription.promise;
    const channel: Channel = { entries: new Set(), established };
    this.#channels.set(name, channel);
    return channel;
  }

  async #remove(name: string, channel: Channel, entry: HandlerEntry): Promise<void> {
    if (!channel.entries.delete(entry) || channel.entries.size > 0) return;
    if (this.#channels.get(name) !== channel) return;
    this.#channels.delete(name);
    // No connection: the channel simply is not subscribed again.
    if (this._canSend()) await settlesWithin(this._unsubscribe(name), this.#timeoutMs);
  }

  #payOwedRefresh(): void {
    if (!this.#refreshOwed || this.#closed) return;
    this.#refreshOwed = false;
    this.#logger.info({ channels: this.#channels.size }, `${this.#label} subscriptions re-established`);
    this.#reconnected();
  }
}
