import pg from "pg";
import type { Logger } from "../../pkg/api/logger.js";

/** First reconnection delay; each later attempt doubles it, up to the configured maximum. */
const FIRST_RECONNECT_DELAY_MS = 50;

export interface ConnectionEvents {
  /** A new connection is up; the owner sets it up (LISTEN) before using it. */
  up(client: pg.Client): void;
  /** The connection that was up is gone; a new attempt is scheduled. */
  down(): void;
  notification(channel: string, payload: string): void;
}

export interface ConnectionOptions {
  connectionString: string;
  maxReconnectDelayMs: number;
  connectTimeoutMs: number;
  logger: Logger;
}

/**
 * One PostgreSQL connection that reconnects by itself until closed, with exponential backoff. Errors
 * are logged once per outage. A query issued on a connection that drops fails; nothing is replayed.
 */
export class ReconnectingConnection {
  readonly #options: ConnectionOptions;
  readonly #events: ConnectionEvents;
  #client: pg.Client | undefined;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #errorLogged = false;

  constructor(options: ConnectionOptions, events: ConnectionEvents) {
    this.#options = options;
    this.#events = events;
    void this.#connect();
  }

  /** The connection while it is up. */
  get client(): pg.Client | undefined {
    return this.#client;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const { connectionString, connectTimeoutMs, logger } = this.#options;
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: connectTimeoutMs, keepAlive: true, application_name: "streamkit-bus" });
    let lost = false;
    const lose = (error?: Error): void => {
      if (lost) return;
      lost = true;
      client.removeAllListeners("notification");
      // A connection that errors stays open on pg's side; end it so its socket is freed.
      client.end().catch(() => undefined);
      this.#failed(error);
      if (this.#client !== client) return;
      this.#client = undefined;
      logger.warn({}, "postgres bus connection lost; reconnecting");
      this.#events.down();
    };
    client.on("error", lose);
    client.on("end", () => lose());
    client.on("notification", (message) => this.#events.notification(message.channel, message.payload ?? ""));
    try {
      await client.connect();
    } catch (error) {
      lose(error as Error);
      return;
    }
    if (lost) return;
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#attempt = 0;
    this.#errorLogged = false;
    this.#client = client;
    logger.info({}, "postgres bus connection ready");
    this.#events.up(client);
  }

  #failed(error: Error | undefined): void {
    if (this.#closed) return;
    const { logger, maxReconnectDelayMs } = this.#options;
    if (error !== undefined) {
      if (this.#errorLogged) logger.debug({ err: error }, "postgres bus connection error");
      else logger.warn({ err: error }, "postgres bus connection error");
      this.#errorLogged = true;
    }
    if (this.#timer !== undefined) return;
    const delay = Math.min(maxReconnectDelayMs, FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(this.#attempt++, 16));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, delay);
  }

  /** Stops reconnecting and ends the connection, cutting it if it does not end within `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    client.removeAllListeners("notification");
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        // pg has no public way to cut a connection; its socket is the stream it writes to.
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([client.end().catch(() => undefined), cut]);
    clearTimeout(timer);
  }
}
