import { WebSocket } from "ws";
import { encodeFrame, type Frame } from "../../../pkg/api/internal/index.js";
import { type Corkable, tickCorker } from "../tick-cork.js";

/**
 * Writes frames to one socket and counts the bytes handed to `ws` whose write has not completed yet.
 * Data frames wait (`whenRoom`) while that count is at the high-water mark, so a peer that cannot
 * drain holds at most about one high-water mark of this process's memory, whatever its streams do.
 */
export class SocketWriter {
  readonly #socket: WebSocket;
  readonly #highWaterMark: number;
  readonly #roomWaiters = new Set<() => void>();
  readonly #cork: () => void;
  #unflushedBytes = 0;
  bytesOut = 0;

  /** `raw` is the TCP socket under `socket`: frames written in one tick leave in one system call. */
  constructor(socket: WebSocket, highWaterMark: number, raw: Corkable) {
    this.#socket = socket;
    this.#highWaterMark = highWaterMark;
    this.#cork = tickCorker(raw);
  }

  get hasRoom(): boolean {
    return this.#unflushedBytes < this.#highWaterMark;
  }

  get unflushedBytes(): number {
    return this.#unflushedBytes;
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
      if (this.hasRoom) this.#wakeAll();
    });
  }

  /** Calls `wake` once there is room; returns a function that withdraws the request. */
  onRoom(wake: () => void): () => void {
    this.#roomWaiters.add(wake);
    return () => this.#roomWaiters.delete(wake);
  }

  #wakeAll(): void {
    const waiters = [...this.#roomWaiters];
    this.#roomWaiters.clear();
    for (const wake of waiters) wake();
  }
}
