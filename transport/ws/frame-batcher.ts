import { joinFrames, MAX_BATCH_BYTES } from "../../pkg/api/index.js";

export interface FrameBatcherOptions {
  /** Sends one WebSocket message holding `frames` encoded frames. */
  send(message: Uint8Array, frames: number): void;
  /** Runs `flush` once the current burst of work is done (process.nextTick in Node, a microtask in browsers). */
  schedule(flush: () => void): void;
}

/**
 * Gathers the frames written in one burst (64 publishes, their answers, a credit) into one
 * WebSocket message of at most MAX_BATCH_BYTES: one frame header, one mask, one 'message' event on
 * the other side instead of one each. Call `flush` before anything that must follow the frames on
 * the socket (a close).
 */
export class FrameBatcher {
  readonly #options: FrameBatcherOptions;
  #frames: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(options: FrameBatcherOptions) {
    this.#options = options;
  }

  push(frame: Uint8Array): void {
    if (this.#frames.length > 0 && this.#bytes + frame.byteLength > MAX_BATCH_BYTES) this.flush();
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#options.schedule(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  flush(): void {
    const frames = this.#frames;
    if (frames.length === 0) return;
    const message = joinFrames(frames, this.#bytes);
    this.#frames = [];
    this.#bytes = 0;
    this.#options.send(message, frames.length);
  }
}
