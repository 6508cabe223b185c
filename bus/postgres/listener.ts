import type pg from "pg";
import type { Logger } from "../../pkg/api/logger.js";
import { Resubscriber } from "../resubscriber.js";
import { ChunkAssembler, decodeChunk } from "./chunks.js";

/** A channel name as a quoted identifier (names come from channelOf: letters, digits and `_`). */
const quoted = (channel: string): string => `"${channel.replaceAll('"', '""')}"`;

/**
 * The listening side of the PostgreSQL bus: LISTEN per channel, every channel again each time a
 * connection comes up (see Resubscriber); notifications are reassembled from their chunks.
 */
export class ChannelListener extends Resubscriber {
  readonly #logger: Logger;
  readonly #onReady: () => void;
  readonly #assembler = new ChunkAssembler();
  #client: pg.Client | undefined;
  /** Whether the current connection listens to every channel (readiness). */
  #listening = false;

  /** `onReady`: the connection listens to every channel; `reconnected`: subscribers should refresh (see Resubscriber). */
  constructor(timeoutMs: number, logger: Logger, onReady: () => void, reconnected: () => void) {
    super("postgres bus", "PostgreSQL", timeoutMs, logger, reconnected);
    this.#logger = logger;
    this.#onReady = onReady;
  }

  get ready(): boolean {
    return !this.closed && this.#listening;
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
    this.connectionLost();
  }

  /** Hands a notification to its channel's handlers once its message is whole. */
  dispatch(channelName: string, payload: string): void {
    if (!this.hasChannel(channelName)) return;
    const chunk = decodeChunk(payload);
    if (chunk === undefined) return;
    const message = this.#assembler.add(chunk);
    if (message !== undefined) this.deliver(channelName, message);
  }

  override close(): void {
    this.#listening = false;
    super.close();
  }

  protected _canSend(): boolean {
    return this.#client !== undefined;
  }

  protected _subscribe(names: readonly string[]): Promise<boolean> {
    return this.#send(names.map((name) => `LISTEN ${quoted(name)};`).join(" "));
  }

  protected _unsubscribe(name: string): Promise<boolean> {
    return this.#send(`UNLISTEN ${quoted(name)}`);
  }

  async #listenAll(client: pg.Client): Promise<void> {
    if (!(await this.resubscribeAll()) || this.#client !== client) return;
    this.#listening = true;
    this.#onReady();
    this.resubscribed();
  }

  async #send(statement: string): Promise<boolean> {
    const client = this.#client;
    if (client === undefined) return false;
    try {
      await client.query(statement);
      return true;
    } catch (error) {
      this.#logger.debug({ err: error }, "postgres bus LISTEN failed");
      return false;
    }
  }
}
