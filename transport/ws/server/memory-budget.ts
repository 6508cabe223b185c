import { StreamsError } from "../../../pkg/api/index.js";

/**
 * The memory one connection may hold on the server (docs/limits.md): client frames its streams have
 * not taken yet and what handlers reserve. A charge that does not fit is refused, never queued.
 */
export class MemoryBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit. */
  tryCharge(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }

  /** The error a stream gets when its connection's share is used up: transient, it clears as other streams finish. */
  exhausted(bytes: number): StreamsError {
    return new StreamsError("resource_exhausted", `the connection's memory budget of ${this.limit} bytes is used up (asked ${bytes} more)`, {
      details: { limit: this.limit, used: this.#used, asked: bytes },
    });
  }
}
