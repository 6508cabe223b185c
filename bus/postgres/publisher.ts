import type pg from "pg";
import type { Logger } from "../../pkg/api/logger.js";

export interface Pending {
  /** The bus route, reported when the message is dropped. */
  readonly route: string;
  readonly channel: string;
  readonly chunks: readonly string[];
}

/** Notifications sent by one statement at most; a burst goes out in a few round trips, not one per message. */
const MAX_BATCH_NOTIFICATIONS = 500;

/**
 * One statement sends a batch of notifications in array order. Functions in the select list run
 * once per row of the unnest, in the arrays' order, so PostgreSQL queues them in that order.
 */
const NOTIFY_BATCH = "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS n(c, p, i) ORDER BY i";

/**
 * Publishes without ever waiting: a message joins a queue bounded by `maxQueue`, sent in batches
 * over the bus's connection. While the connection is down, or the queue is full, a publish is dropped
 * and counted; messages waiting when the connection drops are dropped too.
 */
export class BatchingPublisher {
  readonly #maxQueue: number;
  readonly #logger: Logger;
  readonly #dropped: (routes: readonly string[]) => void;
  #queue: Pending[] = [];
  /** Messages queued or in the statement in flight. */
  #waiting = 0;
  #client: pg.Client | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;
  #failureLogged = false;

  /** `dropped` counts messages (by their routes) that failed after `publish` took them. */
  constructor(maxQueue: number, logger: Logger, dropped: (routes: readonly string[]) => void) {
    this.#maxQueue = maxQueue;
    this.#logger = logger;
    this.#dropped = dropped;
  }

  up(client: pg.Client): void {
    this.#client = client;
  }

  down(): void {
    this.#client = undefined;
    if (this.#queue.length > 0) this.#dropped(this.#queue.map(({ route }) => route));
    this.#waiting -= this.#queue.length;
    this.#queue = [];
  }

  /** False: dropped now (no connection, or the queue is full). `encode` runs only for a message queued. */
  publish(encode: () => Pending): boolean {
    if (this.#closed || this.#client === undefined || this.#waiting >= this.#maxQueue) return false;
    this.#queue.push(encode());
    this.#waiting++;
    this.#sending ??= this.#drain();
    return true;
  }

  /** Resolves once every message published so far was sent or dropped. Never rejects. */
  async flush(): Promise<void> {
    while (this.#sending !== undefined) await this.#sending;
  }

  close(): void {
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    // Let the rest of this tick's publishes join the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0 && this.#client !== undefined) {
      const client = this.#client;
      const batch = this.#take();
      const channels = batch.flatMap(({ channel, chunks }) => chunks.map(() => channel));
      const payloads = batch.flatMap(({ chunks }) => chunks);
      try {
        await client.query(NOTIFY_BATCH, [channels, payloads]);
        this.#failureLogged = false;
      } catch (error) {
        this.#dropped(batch.map(({ route }) => route));
        if (!this.#failureLogged) this.#logger.warn({ err: error }, "postgres bus publish failed; dropping until it succeeds again");
        this.#failureLogged = true;
      } finally {
        this.#waiting -= batch.length;
      }
    }
    this.#sending = undefined;
  }

  /** Whole messages from the queue's head, up to the batch bound (at least one message). */
  #take(): Pending[] {
    let notifications = 0;
    let count = 0;
    while (count < this.#queue.length) {
      const size = this.#queue[count]?.chunks.length ?? 0;
      if (count > 0 && notifications + size > MAX_BATCH_NOTIFICATIONS) break;
      notifications += size;
      count++;
    }
    return this.#queue.splice(0, count);
  }
}
