import { WebSocket } from "ws";
import { encodeFrame, type Frame } from "../../../pkg/api/index.js";
import { FrameBatcher } from "../frame-batcher.js";

/**
 * Writes frames to one socket, the frames of one tick in one WebSocket message, and counts the bytes
 * handed to `ws` whose write has not completed yet. Data frames wait (`whenRoom`) while that count is
 * at the high-water mark, so a peer that cannot drain holds at most about one high-water mark of this
 * process's memory, whatever its streams do.
 */
export class SocketWriter {
  readonly #socket: WebSocket;
  readonly #highWaterMark: number;
  readonly #roomWaiters = new Set<() => void>();
  readonly #batcher: FrameBatcher;
  #unflushedBytes = 0;
  bytesOut = 0;

  constructor(socket: WebSocket, highWaterMark: number) {
    this.#socket = socket;
    this.#highWaterMark = highWaterMark;
    this.#batcher = new FrameBatcher({ send: (message) => this.#send(message), schedule: (flush) => process.nextTick(flush) });
  }

  get hasRoom(): boolean {
    return this.#unflushedBytes < this.#highWaterMark;
  }

  get unflushedBytes(): number {
    return this.#unflushedBytes;
  }

  /** Queues a frame for this tick's message (control frames never wait); a socket that is no longer open drops it. */
  write(frame: Frame): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    const bytes = encodeFrame(frame);
    this.#unflushedBytes += bytes.byteLength;
    this.bytesOut += bytes.byteLength;
    this.#batcher.push(bytes);
  }

  /** Sends the frames queued so far now (before a close, which must follow them). */
  flush(): void {
    this.#batcher.flush();
  }

  /** Calls `wake` once there is room; returns a function that withdraws the request. */
  onRoom(wake: () => void): () => void {
    this.#roomWaiters.add(wake);
    return () => this.#roomWaiters.delete(wake);
  }

  #send(message: Uint8Array): void {
    const written = () => {
      this.#unflushedBytes -= message.byteLength;
      if (this.hasRoom) this.#wakeAll();
    };
    if (this.#socket.readyState !== WebSocket.OPEN) return written();
    this.#socket.send(message, { binary: true }, written);
  }

  #wakeAll(): void {
    const waiters = [...this.#roomWaiters];
    this.#roomWaiters.clear();
    for (const wake of waiters) wake();
  }
}
