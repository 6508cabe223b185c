import { WebSocket } from "ws";
import { encodeDataFrameHead, encodeFrame, type Frame, FrameKinds } from "../../../pkg/api/internal/index.js";
import { type Corkable, tickCorker } from "../tick-cork.js";

/**
 * Shared messages at least this long go out as two WebSocket fragments, the frame's head and then
 * the message's own bytes, instead of being copied into one frame per stream: in a fan-out that copy
 * (and the garbage it leaves) was the server's heaviest cost (docs/performance.md). Shorter ones
 * are cheaper to copy than to send as a second fragment.
 */
export const SHARED_FRAGMENT_MIN_BYTES = 1024;

/** The two bounds on a connection's unsent bytes (docs/limits.md). */
export interface SendBounds {
  /** At or above it data frames wait and the socket is not read (so the peer's frames stop making replies). */
  highWaterMark: number;
  /** Above it the connection is closed (1008): unreachable unless replies outgrow what pausing the reads bounds. */
  maxUnsentBytes: number;
}

export interface WriterEvents {
  /** Unsent bytes passed maxUnsentBytes: the connection must close. */
  overflow(): void;
  /** Reading resumed after a pause. */
  resumed(): void;
}

/**
 * Writes frames to one socket and counts the bytes handed to `ws` whose write has not completed yet.
 * At the high-water mark data frames wait (`onRoom`) and reading from the socket pauses until the
 * peer drains below it: every frame kind a peer can cause (errors, credit, refresh answers) comes
 * from a frame read, so a peer that does not read stops being read and its replies cannot grow.
 * Past `maxUnsentBytes` the connection is closed instead of growing.
 */
export class SocketWriter {
  readonly #socket: WebSocket;
  readonly #bounds: SendBounds;
  readonly #roomWaiters = new Set<() => void>();
  readonly #cork: () => void;
  readonly #events: WriterEvents;
  #unflushedBytes = 0;
  #readPaused = false;
  #overflowed = false;
  bytesOut = 0;

  /** `raw` is the TCP socket under `socket`: frames written in one tick leave in one system call. */
  constructor(socket: WebSocket, bounds: SendBounds, raw: Corkable, events: WriterEvents) {
    this.#socket = socket;
    this.#bounds = bounds;
    this.#cork = tickCorker(raw);
    this.#events = events;
  }

  get hasRoom(): boolean {
    return this.#unflushedBytes < this.#bounds.highWaterMark;
  }

  get unflushedBytes(): number {
    return this.#unflushedBytes;
  }

  /** Whether reading from the socket is paused until the peer drains what it was sent. */
  get readPaused(): boolean {
    return this.#readPaused;
  }

  /** Sends a frame now (control frames never wait); a socket that is no longer open drops it. */
  write(frame: Frame): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    const bytes = encodeFrame(frame);
    this.#cork();
    this.#socket.send(bytes, { binary: true }, this.#sent(bytes.length));
    this.#counted(bytes.length);
  }

  /**
   * Sends a data frame of `message`, bytes shared with other streams and never modified: a long one
   * goes as the frame's head and then the message itself, two fragments of one WebSocket message
   * (the peer receives the same bytes as from `write`), so it is never copied.
   */
  writeShared(channel: number, message: Uint8Array): void {
    if (message.byteLength < SHARED_FRAGMENT_MIN_BYTES) return this.write({ kind: FrameKinds.data, channel, message });
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    const head = encodeDataFrameHead(channel, message.byteLength);
    const length = head.byteLength + message.byteLength;
    this.#cork();
    // Nothing else is sent between the two calls, so no other message comes between the fragments.
    this.#socket.send(head, { binary: true, fin: false });
    this.#socket.send(message, { binary: true, fin: true }, this.#sent(length));
    this.#counted(length);
  }

  /** The callback of a send of `length` bytes: they left (or the socket failed). */
  #sent(length: number): () => void {
    return () => {
      this.#unflushedBytes -= length;
      if (this.hasRoom) this.#drained();
    };
  }

  /** Counts `length` bytes just handed to `ws`, pausing reads or overflowing past the bounds. */
  #counted(length: number): void {
    this.#unflushedBytes += length;
    this.bytesOut += length;
    if (this.#unflushedBytes > this.#bounds.maxUnsentBytes) {
      if (!this.#overflowed) {
        this.#overflowed = true;
        this.#events.overflow();
      }
    } else if (!this.hasRoom && !this.#readPaused) {
      this.#readPaused = true;
      this.#socket.pause();
    }
  }

  /** Calls `wake` once there is room; returns a function that withdraws the request. */
  onRoom(wake: () => void): () => void {
    this.#roomWaiters.add(wake);
    return () => this.#roomWaiters.delete(wake);
  }

  #drained(): void {
    if (this.#readPaused) {
      this.#readPaused = false;
      this.#socket.resume();
      this.#events.resumed();
    }
    const waiters = [...this.#roomWaiters];
    this.#roomWaiters.clear();
    for (const wake of waiters) wake();
  }
}
