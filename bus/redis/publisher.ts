import type { Redis } from "ioredis";
import type { Logger } from "../../pkg/api/logger.js";

/**
 * Publishes over one connection without ever waiting: a message is sent at once, or dropped and
 * counted when the connection is not ready or `maxQueue` publishes already wait for Redis's reply.
 */
export class BoundedPublisher {
  readonly #redis: Redis;
  readonly #maxQueue: number;
  readonly #logger: Logger;
  readonly #dropped: (channel: string) => void;
  #waiting = 0;
  /** Settles after the latest sent publish; Redis answers in order, so after every earlier one too. */
  #latest: Promise<void> = Promise.resolve();
  #closed = false;
  /** Whether a failure was logged since the last success, so an outage logs one line, not one per message. */
  #failureLogged = false;

  /** `dropped` counts a message (by its channel) that failed after `publish` took it. */
  constructor(redis: Redis, maxQueue: number, logger: Logger, dropped: (channel: string) => void) {
    this.#redis = redis;
    this.#maxQueue = maxQueue;
    this.#logger = logger;
    this.#dropped = dropped;
  }

  get ready(): boolean {
    return !this.#closed && this.#redis.status === "ready";
  }

  /** False: dropped now (not ready, or the queue is full). */
  publish(channel: string, message: Uint8Array): boolean {
    if (!this.ready || this.#waiting >= this.#maxQueue) return false;
    this.#waiting++;
    // ioredis copies the bytes into its write buffer synchronously, so a view of the caller's bytes is enough.
    const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    this.#latest = this.#redis.publish(channel, bytes).then(
      () => {
        this.#waiting--;
        this.#failureLogged = false;
      },
      (error: unknown) => {
        this.#waiting--;
        this.#dropped(channel);
        if (this.#failureLogged) return;
        this.#failureLogged = true;
        this.#logger.warn({ err: error, channel }, "redis bus publish failed; dropping until it succeeds again");
      },
    );
    return true;
  }

  /** Resolves once every publish sent so far was answered by Redis or failed. */
  flush(): Promise<void> {
    return this.#latest;
  }

  /** Later publishes are dropped (and counted). */
  close(): void {
    this.#closed = true;
  }
}
