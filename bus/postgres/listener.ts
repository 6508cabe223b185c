import type pg from "pg";
import type { Logger } from "../../pkg/api/logger.js";
import { valueWithin } from "../bounded.js";
import type { BusHandler } from "../types.js";
import { ChunkAssembler, decodeChunk } from "./chunks.js";

/** One subscribe call; a distinct object even when the same function subscribes twice. */
interface HandlerEntry {
  readonly handler: BusHandler;
}

interface Channel {
  readonly entries: Set<HandlerEntry>;
  /** Settles true once PostgreSQL acknowledged this channel's latest LISTEN, false if it failed. */
  established: Promise<boolean>;
}

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

/** A channel name as a quoted identifier (names come from channelOf: letters, digits and `_`). */
const quoted = (channel: string): string => `"${channel.replaceAll('"', '""')}"`;

/**
 * The listening side of the PostgreSQL bus. All handlers of a channel share one LISTEN. Each time a
 * connection comes up it listens to every channel again and, once PostgreSQL acknowledged, calls
 * `reconnected` (after an outage, or when a `subscribe` resolved before its LISTEN was
 * acknowledged) so that subscribers refresh what they may have missed.
 */
export class ChannelListener {
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #reconnected: () => void;
  readonly #channels = new Map<string, Channel>();
  readonly #assembler = new ChunkAssembler();
  #client: pg.Client | undefined;
  /** Whether the current connection listens to every channel (readiness). */
  #listening = false;
  #nextResubscription = newOutcome();
  #everEstablished = false;
  #refreshOwed = false;
  #closed = false;
  readonly #onReady: () => void;

  /** `onReady`: the connection listens to every channel; `reconnected`: subscribers should refresh (see the class comment). */
  constructor(timeoutMs: number, logger: Logger, onReady: () => void, reconnected: () => void) {
    this.#reconnected = reconnected;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    this.#onReady = onReady;
  }

  get ready(): boolean {
    return !this.#closed && this.#listening;
  }

  /** A connection came up: listen to every channel on it. */
  up(client: pg.Client): void {
    this.#client = client;
    void this.#listenAll(client);
  }

  /** The connection went down. */
  down(): void {
    this.#client = undefined;
    this.#listening = false;
    this.#assembler.clear();
    this.#settleNextResubscription(false);
  }

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
      this.#logger.info({ channel: channelName }, "postgres bus subscribed before PostgreSQL acknowledged; will refresh when it does");
      void established.then((late) => {
        if (late) this.#payOwedRefresh();
      });
    }
    return unsubscribe;
  }

  /** Hands a notification to its channel's handlers once its message is whole. */
  dispatch(channelName: string, payload: string): void {
    const channel = this.#channels.get(channelName);
    if (channel === undefined) return;
    const chunk = decodeChunk(payload);
    if (chunk === undefined) return;
    const message = this.#assembler.add(chunk);
    if (message === undefined) return;
    for (const { handler } of [...channel.entries]) {
      try {
        handler(message);
      } catch (error) {
        this.#logger.error({ err: error, channel: channelName }, "postgres bus handler threw");
      }
    }
  }

  close(): void {
    this.#closed = true;
    this.#listening = false;
    this.#channels.clear();
    this.#settleNextResubscription(false);
  }

  #addChannel(name: string): Channel {
    // No connection: the channel joins the LISTEN that runs when one comes up.
    const established = this.#client === undefined ? this.#nextResubscription.promise : this.#send(this.#client, `LISTEN ${quoted(name)}`);
    const channel: Channel = { entries: new Set(), established };
    this.#channels.set(name, channel);
    return channel;
  }

  async #remove(name: string, channel: Channel, entry: HandlerEntry): Promise<void> {
    if (!channel.entries.delete(entry) || channel.entries.size > 0) return;
    if (this.#channels.get(name) !== channel) return;
    this.#channels.delete(name);
    const client = this.#client;
    if (client !== undefined) await valueWithin(this.#send(client, `UNLISTEN ${quoted(name)}`), this.#timeoutMs, false);
  }

  async #listenAll(client: pg.Client): Promise<void> {
    const waiting = this.#nextResubscription;
    this.#nextResubscription = newOutcome();
    const channels = [...this.#channels.values()];
    const statement = [...this.#channels.keys()].map((name) => `LISTEN ${quoted(name)};`).join(" ");
    const listened = statement === "" ? Promise.resolve(true) : this.#send(client, statement);
    for (const channel of channels) channel.established = listened;
    const established = await listened;
    waiting.settle(established);
    if (!established || this.#closed || this.#client !== client) return;
    this.#listening = true;
    this.#onReady();
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
    this.#logger.info({ channels: this.#channels.size }, "postgres bus subscriptions re-established");
    this.#reconnected();
  }

  async #send(client: pg.Client, statement: string): Promise<boolean> {
    try {
      await client.query(statement);
      return true;
    } catch (error) {
      this.#logger.debug({ err: error }, "postgres bus LISTEN failed");
      return false;
    }
  }
}
