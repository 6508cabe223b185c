import type { IncomingMessage } from "node:http";
import { type RawData, WebSocket } from "ws";
import {
  type Frame,
  FrameError,
  FrameKinds,
  decodeFrame,
  invalidArgument,
  isValidStoreId,
  overLimit,
  type Principal,
  StreamsError,
} from "../../../pkg/api/internal/index.js";
import type { AuthResult } from "../../../pkg/server/auth/index.js";
import { operationOf, requiredAccess } from "./access.js";
import { type ChannelHost, ChannelStream } from "./channel.js";
import { Credentials, type RefreshOutcome } from "./credentials.js";
import type { ResolvedStreamzOptions } from "./options.js";
import { MemoryBudget } from "./memory-budget.js";
import { SocketWriter } from "./socket-writer.js";
import { CloseCodes } from "../protocol.js";
import type { ConnectionInfo } from "../../../pkg/server/operator/connections.js";

// A close reason is at most 123 bytes: keep printable ASCII only.
const closeReason = (reason: string) => reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 123);

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

/**
 * One authenticated WebSocket: routes frames to its channels, hands new streams to the manager,
 * applies in-band token refreshes and closes itself when its token expires unrefreshed.
 */
export class Connection implements ChannelHost {
  readonly id: string;
  readonly remoteAddress: string | undefined;
  readonly userAgent: string | undefined;
  readonly openedAt = Date.now();
  readonly writer: SocketWriter;
  readonly budget: MemoryBudget;
  /** Settles once the socket has closed and every stream was aborted. */
  readonly closed: Promise<void>;
  readonly #socket: WebSocket;
  readonly #options: ResolvedStreamzOptions;
  readonly #streams = new Map<number, ChannelStream>();
  readonly #credentials: Credentials;
  #missedPongs = 0;
  #lastPongAt: number | undefined;
  #bytesIn = 0;
  /** Frames read while reading was being paused, in order (docs/limits.md). */
  readonly #deferred: { bytes: Buffer; isBinary: boolean }[] = [];
  /** Closing or closed: frames still arriving are dropped, refreshes ignored. */
  #isClosing = false;

  constructor(socket: WebSocket, init: { id: string; request: IncomingMessage; auth: AuthResult | undefined }, options: ResolvedStreamzOptions) {
    this.id = init.id;
    this.remoteAddress = init.request.socket.remoteAddress;
    this.userAgent = init.request.headers["user-agent"];
    this.#socket = socket;
    this.#options = options;
    this.#credentials = new Credentials(init.auth, options.authenticator, () => {
      options.logger.info({ connection: this.id }, "token expired unrefreshed: closing the connection");
      this.close(CloseCodes.tokenExpired, "token expired");
    });
    const bounds = { highWaterMark: options.sendHighWaterMarkBytes, maxUnsentBytes: options.maxUnsentBytes };
    this.writer = new SocketWriter(socket, bounds, init.request.socket, {
      overflow: () => this.#violation(1008, "too many unsent bytes"),
      resumed: () => this.#resumed(),
    });
    this.budget = new MemoryBudget(options.maxConnectionMemoryBytes);
    socket.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on("pong", () => {
      this.#missedPongs = 0;
      this.#lastPongAt = Date.now();
    });
    // ws reports the cause (oversized frame, reset, …) here, then emits close.
    socket.on("error", (error) => options.logger.debug({ connection: this.id, err: error }, "websocket error"));
    this.closed = new Promise((resolve) => {
      socket.once("close", (code: number, reason: Buffer) => {
        this.#onClosed(code, reason.toString());
        resolve();
      });
    });
  }

  get principal(): Principal | undefined {
    return this.#credentials.principal;
  }

  release(stream: ChannelStream): void {
    if (this.#streams.get(stream.channel) === stream) this.#streams.delete(stream.channel);
  }

  /** One ping period passed: ping, or drop a peer that has not answered the last two pings. */
  heartbeat(): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    if (this.#missedPongs >= 2) {
      this.#options.logger.info({ connection: this.id }, "peer missed two pongs: dropping the connection");
      this.#socket.terminate();
      return;
    }
    this.#missedPongs++;
    this.#socket.ping();
  }

  /** Aborts every stream and starts the close handshake. */
  close(code: number, reason: string): void {
    this.#isClosing = true;
    this.#credentials.stop();
    this.#abortStreams(new StreamsError("unavailable", `connection closing: ${reason}`));
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING) {
      this.#socket.close(code, closeReason(reason));
    }
  }

  /** Closes with `code` and waits for the peer, cutting it off after `timeoutMs`. */
  async shutdown(code: number, reason: string, timeoutMs: number): Promise<void> {
    this.close(code, reason);
    const cutOff = setTimeout(() => this.#socket.terminate(), timeoutMs);
    cutOff.unref();
    await this.closed;
    clearTimeout(cutOff);
  }

  info(): ConnectionInfo {
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      userAgent: this.userAgent,
      subject: this.principal?.subject,
      openedAt: this.openedAt,
      lastPongAt: this.#lastPongAt,
      // heartbeat() counts a ping as missed when it sends it: two means the previous one went unanswered a whole interval.
      stale: this.#missedPongs >= 2,
      streams: [...this.#streams.values()].map((stream) => stream.info()),
      bytesIn: this.#bytesIn,
      bytesOut: this.writer.bytesOut,
      bufferedBytes: this.writer.unflushedBytes,
      readPaused: this.writer.readPaused,
      memoryBytes: this.budget.used,
    };
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const bytes = toBuffer(data);
    this.#bytesIn += bytes.length;
    if (this.#isClosing) return;
    // ws still hands over the rest of a socket read after the reads pause: keep it for later, so
    // the replies stop at the high-water mark (at most one read of frames waits here).
    if (this.writer.readPaused || this.#deferred.length > 0) {
      this.#deferred.push({ bytes, isBinary });
      return;
    }
    this.#process(bytes, isBinary);
  }

  /** The peer drained: frames kept while reads were paused go through, until the next pause. */
  #resumed(): void {
    while (!this.writer.readPaused && !this.#isClosing) {
      const next = this.#deferred.shift();
      if (next === undefined) return;
      this.#process(next.bytes, next.isBinary);
    }
  }

  #process(bytes: Buffer, isBinary: boolean): void {
    if (!isBinary) return this.#violation(1008, "text messages are not supported");
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      const frameError = error instanceof FrameError ? error : new FrameError(String(error), undefined);
      if (frameError.channel === undefined || frameError.channel === 0) return this.#violation(1007, frameError.message);
      return this.#failChannel(frameError.channel, frameError);
    }
    if (bytes.length > this.#options.maxFrameBytes) {
      if (frame.channel === 0) return this.#violation(1009, "frame too large");
      const limit = this.#options.maxFrameBytes;
      return this.#failChannel(frame.channel, overLimit(`frame of ${bytes.length} bytes exceeds the limit of ${limit}`, { size: bytes.length, limit }));
    }
    this.#dispatch(frame);
  }

  #dispatch(frame: Frame): void {
    // Frames for channels that are not open are dropped: they race with the stream's end.
    const stream = this.#streams.get(frame.channel);
    switch (frame.kind) {
      case FrameKinds.open:
        return this.#open(frame.channel, frame.storeId, frame.message);
      case FrameKinds.data:
        return stream?.deliver(frame.message);
      case FrameKinds.end:
        return stream?.clientEnd();
      case FrameKinds.credit:
        return stream?.grant(frame.credit);
      case FrameKinds.cancel:
        return stream?.terminate(new StreamsError("cancelled", "cancelled by the client"), false);
      case FrameKinds.error:
        return stream?.terminate(
          new StreamsError("cancelled", "ended by the client with an error", { cause: StreamsError.fromInfo(frame.error) }),
          false,
        );
      case FrameKinds.refresh:
        void this.#credentials.refresh(frame.token).then((outcome) => this.#refreshed(outcome));
        return;
      case FrameKinds.refreshed:
        return; // server → client only
    }
  }

  #open(channel: number, storeId: string, first: Uint8Array): void {
    const existing = this.#streams.get(channel);
    if (existing !== undefined) return existing.terminate(new StreamsError("invalid_argument", `channel ${channel} is already open`));
    const refuse = (error: StreamsError) => {
      this.#options.observer?.streamRefused(storeId.toLowerCase(), error, operationOf(first));
      this.writer.write({ kind: FrameKinds.error, channel, error: error.toInfo() });
    };
    const limit = this.#options.maxStreamsPerConnection;
    if (this.#streams.size >= limit) {
      return refuse(new StreamsError("resource_exhausted", `too many streams on this connection (limit ${limit})`));
    }
    if (!isValidStoreId(storeId)) return refuse(invalidArgument("storeId", "must be a UUID string"));
    const id = storeId.toLowerCase();
    const access = requiredAccess(first);
    const principal = this.principal;
    if (principal !== undefined && !principal.can(id, access)) {
      return refuse(new StreamsError("permission_denied", `the token does not grant ${access} access to store ${id}`));
    }
    if (!this.budget.tryCharge(first.byteLength)) return refuse(this.budget.exhausted(first.byteLength));
    const stream = new ChannelStream({ channel, storeId: id, access, first }, this);
    this.#streams.set(channel, stream);
    void this.#serve(stream);
  }

  async #serve(stream: ChannelStream): Promise<void> {
    try {
      await this.#options.manager.handleStream(stream.storeId, stream);
    } catch (error) {
      this.#options.logger.error({ connection: this.id, channel: stream.channel, err: error }, "stream handler failed");
      stream.fail(StreamsError.from(error));
    } finally {
      stream.end(); // a handler that returned without ending its stream
    }
  }

  /** Answers a refresh; a new principal ends the streams it no longer covers. */
  #refreshed(outcome: RefreshOutcome | undefined): void {
    if (outcome === undefined || this.#isClosing) return;
    if (!outcome.ok) {
      this.#options.logger.info({ connection: this.id, reason: outcome.error.message }, "token refresh refused");
      this.writer.write({ kind: FrameKinds.refreshed, channel: 0, ok: false, error: outcome.error.toInfo() });
      return;
    }
    this.writer.write({ kind: FrameKinds.refreshed, channel: 0, ok: true, expiresAt: outcome.expiresAt });
    const principal = outcome.principal;
    if (principal === undefined) return;
    for (const stream of [...this.#streams.values()]) {
      if (!principal.can(stream.storeId, stream.access)) {
        const message = `the refreshed token no longer grants ${stream.access} access to store ${stream.storeId}`;
        stream.terminate(new StreamsError("permission_denied", message));
      }
    }
  }

  #failChannel(channel: number, error: StreamsError): void {
    const stream = this.#streams.get(channel);
    if (stream !== undefined) stream.terminate(error);
    else this.writer.write({ kind: FrameKinds.error, channel, error: error.toInfo() });
  }

  #violation(code: number, reason: string): void {
    this.#options.logger.warn({ connection: this.id, code, reason }, "protocol violation: closing the connection");
    this.close(code, reason);
  }

  #abortStreams(error: StreamsError): void {
    for (const stream of [...this.#streams.values()]) stream.terminate(error, false);
  }

  #onClosed(code: number, reason: string): void {
    this.#isClosing = true;
    this.#credentials.stop();
    this.#abortStreams(new StreamsError("unavailable", `connection closed (${code}${reason === "" ? "" : `: ${reason}`})`));
  }
}
