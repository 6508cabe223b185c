import { WebSocket } from "ws";
import { encodeFrame, type Frame } from "../../../pkg/api/internal/index.js";
import { type Corkable, tickCorker } from "../tick-cork.js";

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
    this.#unflushedBytes += bytes.length;
    this.bytesOut += bytes.length;
    this.#cork();
    this.#socket.send(bytes, { binary: true }, () => {
      this.#unflushedBytes -= bytes.length;
      if (this.hasRoom) this.#drained();
    });
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
