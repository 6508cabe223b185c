import { MessageTypes, type PublishResult, type Response, type StreamsError } from "../../api/internal/index.js";

/** One publish's result once it is known, or a message the lane refused (it stands for all that message's publishes). */
type Slot = { result: PublishResult | undefined; bytes: number } | { refusal: StreamsError };

const ready = (slot: Slot): boolean => !("result" in slot) || slot.result !== undefined;

/**
 * The answers of a publish lane. Publishes settle in any order but are answered in the order they
 * came: whenever the oldest unanswered ones are known, they go out together in one publish_results
 * (a group commit settles many at once), so a batch's first publishes are answered as soon as they
 * commit, before the rest of the batch. A refused message is answered alone by a publish_error, in
 * its place. `room()` holds the lane while the publishes waiting to be answered reach `capacity`
 * (in count or payload bytes); a failed send fails the lane.
 */
export class LaneAnswers {
  readonly #slots: Slot[] = [];
  #sending: Promise<void> = Promise.resolve();
  #unanswered = 0;
  #unansweredBytes = 0;
  #flushScheduled = false;
  #failed = false;
  #wakeUp: (() => void) | undefined;

  constructor(
    private readonly capacity: { publishes: number; bytes: number },
    private readonly send: (answer: Response) => Promise<void>,
  ) {}

  /** Queues one publish's result (a promise that never rejects) and the payload bytes it holds until answered. */
  add(result: Promise<PublishResult>, bytes: number): void {
    const slot: { result: PublishResult | undefined; bytes: number } = { result: undefined, bytes };
    this.#slots.push(slot);
    this.#unanswered++;
    this.#unansweredBytes += bytes;
    void result.then((settled) => {
      slot.result = settled;
      this.#scheduleFlush();
    });
  }

  /** Queues the refusal of a message that is not a publish the lane can take. */
  refuse(error: StreamsError): void {
    this.#slots.push({ refusal: error });
    this.#unanswered++;
    this.#scheduleFlush();
  }

  /** Resolves once the publishes waiting for their answer are under `capacity`; rejects once a send has failed. */
  async room(): Promise<void> {
    const full = () => this.#unanswered >= this.capacity.publishes || this.#unansweredBytes >= this.capacity.bytes;
    while (full() && !this.#failed) await this.#changed();
    if (this.#failed) await this.#sending;
  }

  /** Waits until every publish is answered; rejects with the send that failed. */
  async drain(): Promise<void> {
    while (this.#unanswered > 0 && !this.#failed) await this.#changed();
    await this.#sending;
  }

  /** Waits for the answers under way, ignoring failures (before the stream ends with an error). */
  async settle(): Promise<void> {
    await this.#sending.catch(() => undefined);
  }

  #changed(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wakeUp = resolve));
  }

  // In a microtask, so the results one group commit settles at once leave in one message.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#slots.length > 0 && ready(this.#slots[0] as Slot)) {
      const head = this.#slots[0] as Slot;
      if ("refusal" in head) {
        this.#slots.shift();
        this.#queueSend({ $type: MessageTypes.publishError, error: head.refusal.toInfo() }, 1, 0);
        continue;
      }
      const results: PublishResult[] = [];
      let bytes = 0;
      while (this.#slots.length > 0) {
        const slot = this.#slots[0] as Slot;
        if (!("result" in slot) || slot.result === undefined) break;
        results.push(slot.result);
        bytes += slot.bytes;
        this.#slots.shift();
      }
      this.#queueSend({ $type: MessageTypes.publishResults, results }, results.length, bytes);
    }
  }

  #queueSend(answer: Response, answered: number, bytes: number): void {
    this.#sending = this.#sending
      .then(() => this.send(answer))
      .catch((error: unknown) => {
        this.#failed = true;
        throw error;
      })
      .finally(() => {
        this.#unanswered -= answered;
        this.#unansweredBytes -= bytes;
        this.#wakeUp?.();
      });
    this.#sending.catch(() => undefined); // observed by drain or settle
  }
}
