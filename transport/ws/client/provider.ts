import { type ClientStream, type ConnectionState, type ConnectionStatus, type Provider, retryDelay, StreamsError } from "../../../pkg/api/internal/index.js";
import { abortable, follow, sleep } from "./abort.js";
import { Channel } from "./channel.js";
import { Connection } from "./connection.js";
import type { ResolvedOptions, TokenSource } from "./options.js";
import type { Dialer } from "./socket.js";
import { startTimer } from "../../../pkg/api/internal/timer.js";

// Bound on how long close() waits for the server to complete the close handshake.
const CLOSE_WAIT_MS = 1000;

async function callToken(source: Exclude<TokenSource, string>): Promise<string> {
  const token = await source();
  if (typeof token !== "string") throw new StreamsError("unauthenticated", "the token callback did not return a string");
  return token;
}

export type WsProvider = Provider & AsyncDisposable;

/**
 * A Provider over one lazily dialed WebSocket shared by every logical stream.
 *
 * - A dropped connection fails the streams open on it with `unavailable` (resuming them is the SDK's
 *   job; a produce is never resent) and redials with backoff. Streams opened meanwhile wait for the
 *   next connection, bounded only by their own cancel.
 * - Each dial fetches a fresh token. A 401 is `unauthenticated` and stops dialing: the waiting streams
 *   fail with it, and the next `open` dials again. So do `retry.maxAttempts` transient failures in a row.
 * - `state.reconnects` counts connections re-established after one was lost.
 * - `close()` fails open and waiting streams with `cancelled` (the caller ended them: nothing to
 *   retry) and closes the socket with 1000.
 */
/** msgpack array header, kind, channel (up to 9 bytes) and bin header of a data frame. */
const FRAME_OVERHEAD_BYTES = 16;

export class WebSocketProvider implements WsProvider {
  readonly #options: ResolvedOptions;
  readonly #dial: Dialer;
  #status: ConnectionStatus = "connecting";
  #reconnects = 0;
  #everConnected = false;
  #connection: Connection | undefined;
  readonly #waiting = new Set<Channel>();
  #dialing = false;
  /** Aborted by close(): ends a dial or a backoff in progress. */
  readonly #lifetime = new AbortController();
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedOptions, dial: Dialer) {
    this.#options = options;
    this.#dial = dial;
  }

  get state(): ConnectionState {
    return { status: this.#status, reconnects: this.#reconnects };
  }

  /** A message travels in one data frame, which adds at most FRAME_OVERHEAD_BYTES to it. */
  get maxMessageBytes(): number {
    return this.#options.maxFrameBytes - FRAME_OVERHEAD_BYTES;
  }

  open(storeId: string, first: Uint8Array): ClientStream {
    if (typeof storeId !== "string") throw new TypeError("storeId must be a string");
    if (!(first instanceof Uint8Array)) throw new TypeError("first message must be a Uint8Array");
    const channel = new Channel(storeId, first, (done) => this.#waiting.delete(done));
    if (this.#status === "closed") channel.abandon(new StreamsError("cancelled", "provider closed"));
    else if (this.#connection) this.#connection.attach(channel);
    else {
      this.#waiting.add(channel);
      this.#startDialing(false);
    }
    return channel;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#status = "closed";
    const error = new StreamsError("cancelled", "provider closed");
    this.#lifetime.abort(error);
    for (const channel of [...this.#waiting]) channel.connectionLost(error);
    const connection = this.#connection;
    if (!connection) return;
    this.#connection = undefined;
    connection.drop(error);
    connection.socket.close(1000, "client closed");
    let stopWaiting = (): void => undefined;
    const bound = new Promise<void>((resolve) => (stopWaiting = startTimer(resolve, CLOSE_WAIT_MS, { unref: true })));
    await Promise.race([connection.closed, bound]);
    stopWaiting();
  }

  #startDialing(afterDrop: boolean): void {
    if (this.#dialing || this.#connection || this.#status === "closed") return;
    this.#dialing = true;
    void this.#dialLoop(afterDrop).finally(() => (this.#dialing = false));
  }

  /** Dials until connected, a permanent failure, `maxAttempts` failures in a row, or close. */
  async #dialLoop(afterDrop: boolean): Promise<void> {
    const { retry, onDialFailure, logger } = this.#options;
    // After a drop even the first redial waits, so a server that accepts and then drops does not spin us.
    let delayIndex = afterDrop ? 1 : 0;
    for (let attempt = 1; ; attempt++) {
      if (delayIndex > 0 && !(await sleep(retryDelay(retry, delayIndex), this.#lifetime.signal))) return;
      try {
        await this.#connect();
        return;
      } catch (caught) {
        if (this.#status === "closed") return;
        const error = StreamsError.from(caught, "unavailable");
        logger.warn({ err: error, attempt }, "websocket dial failed");
        try {
          onDialFailure?.(error, attempt);
        } catch (hookError) {
          logger.error({ err: hookError }, "onDialFailure threw");
        }
        if (!error.transient || attempt >= retry.maxAttempts) {
          for (const channel of [...this.#waiting]) channel.connectionLost(error);
          return;
        }
        delayIndex++;
      }
    }
  }

  /** One dial, token fetch included, bounded by connectTimeoutMs and by close(). */
  async #connect(): Promise<void> {
    const { url, maxFrameBytes, connectTimeoutMs } = this.#options;
    const attempt = new AbortController();
    const timeout = new StreamsError("unavailable", `connect timed out after ${connectTimeoutMs} ms`);
    const stopTimer = startTimer(() => attempt.abort(timeout), connectTimeoutMs, { unref: false });
    const stopFollowing = follow(this.#lifetime.signal, attempt);
    // The socket reports to the connection, which exists only once the dial resolves.
    let connection: Connection | undefined;
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    try {
      const token = await abortable(this.#fetchToken(), attempt.signal);
      const socket = await this.#dial({
        url,
        token,
        maxFrameBytes,
        signal: attempt.signal,
        handlers: {
          onFrame: (bytes) => connection?.onFrame(bytes),
          onClose: (code, reason) => {
            markClosed();
            if (connection) this.#onClose(connection, code, reason);
          },
        },
      });
      connection = new Connection(socket, closed, maxFrameBytes);
      this.#connected(connection, token);
    } finally {
      stopTimer();
      stopFollowing();
    }
  }

  #connected(connection: Connection, token: string | undefined): void {
    if (this.#status === "closed") {
      connection.socket.close(1000, "client closed");
      return;
    }
    this.#connection = connection;
    if (this.#everConnected) this.#reconnects++;
    this.#everConnected = true;
    this.#status = "connected";
    this.#options.logger.debug({ reconnects: this.#reconnects }, "websocket connected");
    const source = this.#options.token;
    // A fixed string cannot be refreshed: only a token callback gets in-band refresh.
    if (token !== undefined && typeof source === "function") {
      connection.startRefresher(token, { fetchToken: () => callToken(source), refreshAt: this.#options.refreshAt, logger: this.#options.logger });
    }
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const channel of waiting) connection.attach(channel);
  }

  async #fetchToken(): Promise<string | undefined> {
    const source = this.#options.token;
    return typeof source === "function" ? callToken(source) : source;
  }

  #onClose(connection: Connection, code: number, reason: string): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    const detail = reason === "" ? `${code}` : `${code} ${reason}`;
    connection.drop(new StreamsError("unavailable", `connection lost (${detail})`, { details: { code, reason } }));
    if (this.#status === "closed") return;
    this.#options.logger.warn({ code, reason }, "websocket connection lost; reconnecting");
    this.#status = "reconnecting";
    this.#startDialing(true);
  }
}
