import { type ClientStream, type ConnectionState, type ConnectionStatus, type Provider, retryDelay, StreamsError } from "../../../pkg/api/internal/index.js";
import { abortable, follow, sleep } from "./abort.js";
import { AddressPool } from "./address-pool.js";
import { type Address, discover } from "./addresses.js";
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

/** msgpack array header, kind, channel (up to 9 bytes) and bin header of a data frame. */
const FRAME_OVERHEAD_BYTES = 16;

/**
 * A Provider over one lazily dialed WebSocket shared by every logical stream, to one of the given
 * server addresses (docs/deployment.md, "Client failover").
 *
 * - A dropped connection fails the streams open on it with `unavailable` (resuming them is the SDK's
 *   job; a produce is never resent) and redials, another address first when there are several.
 *   Streams opened meanwhile wait for the next connection, at most `connectDeadlineMs`: then they
 *   fail with `unavailable`, nothing of them sent (the dialing goes on for later streams).
 * - Each dial fetches a fresh token. A 401 is `unauthenticated` and stops dialing: the waiting streams
 *   fail with it, and the next `open` dials again. So do `retry.maxAttempts` transient failures in a row.
 * - `state.reconnects` counts connections re-established after one was lost; `state.url` names the
 *   address in use (the last one while reconnecting).
 * - `close()` fails open and waiting streams with `cancelled` (the caller ended them: nothing to
 *   retry) and closes the socket with 1000.
 */
export class WebSocketProvider implements WsProvider {
  readonly #options: ResolvedOptions;
  readonly #dial: Dialer;
  #status: ConnectionStatus = "connecting";
  #reconnects = 0;
  #everConnected = false;
  #connection: Connection | undefined;
  /** The address of the connection in use, or of the last one while reconnecting. */
  #address: Address | undefined;
  readonly #pool: AddressPool;
  /** Streams waiting for a connection, each with the stop of its connectDeadlineMs timer. */
  readonly #waiting = new Map<Channel, () => void>();
  #dialing = false;
  /** Aborted by close(): ends a dial or a backoff in progress. */
  readonly #lifetime = new AbortController();
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedOptions, dial: Dialer) {
    this.#options = options;
    this.#dial = dial;
    this.#pool = new AddressPool({ retry: options.retry, randomize: options.randomize });
  }

  get state(): ConnectionState {
    const state: ConnectionState = { status: this.#status, reconnects: this.#reconnects };
    if (this.#address !== undefined) state.url = this.#address.url;
    return state;
  }

  /** A message travels in one data frame, which adds at most FRAME_OVERHEAD_BYTES to it. */
  get maxMessageBytes(): number {
    return this.#options.maxFrameBytes - FRAME_OVERHEAD_BYTES;
  }

  open(storeId: string, first: Uint8Array): ClientStream {
    if (typeof storeId !== "string") throw new TypeError("storeId must be a string");
    if (!(first instanceof Uint8Array)) throw new TypeError("first message must be a Uint8Array");
    const channel = new Channel(storeId, first, (done) => this.#stopWaiting(done));
    if (this.#status === "closed") channel.abandon(new StreamsError("cancelled", "provider closed"));
    else if (this.#connection) this.#connection.attach(channel);
    else {
      this.#wait(channel);
      this.#startDialing();
    }
    return channel;
  }

  /** Holds `channel` until a connection is up, at most connectDeadlineMs. */
  #wait(channel: Channel): void {
    const { connectDeadlineMs } = this.#options;
    if (!Number.isFinite(connectDeadlineMs)) {
      this.#waiting.set(channel, () => undefined);
      return;
    }
    const stop = startTimer(
      () => {
        const error = new StreamsError("unavailable", `no connection to the server within connectDeadlineMs (${connectDeadlineMs} ms); nothing was sent`, {
          details: { connectDeadlineMs },
        });
        channel.connectionLost(error);
      },
      connectDeadlineMs,
      { unref: true },
    );
    this.#waiting.set(channel, stop);
  }

  #stopWaiting(channel: Channel): void {
    this.#waiting.get(channel)?.();
    this.#waiting.delete(channel);
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
    for (const channel of [...this.#waiting.keys()]) channel.connectionLost(error);
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

  #startDialing(): void {
    if (this.#dialing || this.#connection || this.#status === "closed") return;
    this.#dialing = true;
    void this.#dialLoop().finally(() => (this.#dialing = false));
  }

  /**
   * Dials until connected, a permanent failure, `maxAttempts` failed dials in a row (over all
   * addresses), or close. Each turn asks the address source again and dials the pool's pick, after
   * that address's own backoff (see AddressPool).
   */
  async #dialLoop(): Promise<void> {
    const { retry, onDialFailure, logger } = this.#options;
    for (let failures = 0; ; ) {
      let address: Address | undefined;
      try {
        this.#pool.update(await this.#bounded("finding the server addresses", () => discover(this.#options.urls)));
        const pick = this.#pool.pick();
        if (pick.waitMs > 0) {
          logger.debug({ url: pick.address.url, waitMs: pick.waitMs }, "websocket dial waits for the address's backoff");
          if (!(await sleep(pick.waitMs, this.#lifetime.signal))) return;
          continue;
        }
        address = pick.address;
        logger.debug({ url: address.url }, "websocket dialing");
        await this.#connect(address);
        return;
      } catch (caught) {
        if (this.#status === "closed") return;
        const error = StreamsError.from(caught, "unavailable");
        failures++;
        if (address !== undefined) this.#pool.failed(address);
        logger.warn({ err: error, attempt: failures, url: address?.url }, "websocket dial failed");
        try {
          onDialFailure?.(error, failures, address?.url);
        } catch (hookError) {
          logger.error({ err: hookError }, "onDialFailure threw");
        }
        if (!error.transient || failures >= retry.maxAttempts) {
          for (const channel of [...this.#waiting.keys()]) channel.connectionLost(error);
          return;
        }
        // No address was dialed (the urls function failed): back off here, as no address does.
        if (address === undefined && !(await sleep(retryDelay(retry, failures), this.#lifetime.signal))) return;
      }
    }
  }

  /** `work`, bounded by connectTimeoutMs and by close(). */
  async #bounded<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { connectTimeoutMs } = this.#options;
    const attempt = new AbortController();
    const timeout = new StreamsError("unavailable", `${what} timed out after ${connectTimeoutMs} ms`);
    const stopTimer = startTimer(() => attempt.abort(timeout), connectTimeoutMs, { unref: false });
    const stopFollowing = follow(this.#lifetime.signal, attempt);
    try {
      return await abortable(work(attempt.signal), attempt.signal);
    } finally {
      stopTimer();
      stopFollowing();
    }
  }

  /** One dial of `address`, token fetch included, bounded by connectTimeoutMs and by close(). */
  async #connect(address: Address): Promise<void> {
    const { maxFrameBytes } = this.#options;
    // The socket reports to the connection, which exists only once the dial resolves.
    const link: { connection?: Connection } = {};
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const { socket, token } = await this.#bounded("connect", async (signal) => {
      const token = await abortable(this.#fetchToken(), signal);
      const socket = await this.#dial({
        url: address.streamz,
        token,
        maxFrameBytes,
        signal,
        handlers: {
          onFrame: (bytes) => link.connection?.onFrame(bytes),
          onClose: (code, reason) => {
            markClosed();
            if (link.connection) this.#onClose(link.connection, code, reason);
          },
        },
      });
      return { socket, token };
    });
    link.connection = new Connection(socket, closed, maxFrameBytes);
    this.#connected(link.connection, token, address);
  }

  #connected(connection: Connection, token: string | undefined, address: Address): void {
    if (this.#status === "closed") {
      connection.socket.close(1000, "client closed");
      return;
    }
    this.#connection = connection;
    this.#address = address;
    this.#pool.connected(address);
    if (this.#everConnected) this.#reconnects++;
    this.#everConnected = true;
    this.#status = "connected";
    this.#options.logger.debug({ reconnects: this.#reconnects, url: address.url }, "websocket connected");
    const source = this.#options.token;
    // A fixed string cannot be refreshed: only a token callback gets in-band refresh.
    if (token !== undefined && typeof source === "function") {
      connection.startRefresher(token, { fetchToken: () => callToken(source), refreshAt: this.#options.refreshAt, logger: this.#options.logger });
    }
    const waiting = [...this.#waiting.keys()];
    for (const channel of waiting) this.#stopWaiting(channel);
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
    const address = this.#address;
    if (address !== undefined) this.#pool.lost(address);
    this.#options.logger.warn({ code, reason, url: address?.url }, "websocket connection lost; reconnecting");
    this.#status = "reconnecting";
    this.#startDialing();
  }
}
