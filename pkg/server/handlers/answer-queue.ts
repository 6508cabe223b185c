import type { Response } from "../../api/index.js";

/**
 * Answers that settle in any order but go out in the order they were added, each as soon as it and
 * every earlier one are ready; at most `capacity` waiting or sending at once. A failed send fails
 * the queue: nothing after it is sent.
 */
export class AnswerQueue {
  #sending: Promise<void> = Promise.resolve();
  #waiting = 0;
  #failed = false;
  #wakeUp: (() => void) | undefined;

  constructor(
    private readonly capacity: number,
    private readonly send: (answer: Response) => Promise<void>,
  ) {}

  /** Queues an answer (a promise that never rejects) behind the earlier ones. */
  add(answer: Promise<Response>): void {
    this.#waiting++;
    this.#sending = this.#sending
      .then(async () => this.send(await answer))
      .catch((error: unknown) => {
        this.#failed = true;
        throw error;
      })
      .finally(() => {
        this.#waiting--;
        this.#wakeUp?.();
      });
    this.#sending.catch(() => undefined); // observed by drain or settle
  }

  /** Resolves once fewer than `capacity` answers wait; rejects once a send has failed. */
  async room(): Promise<void> {
    while (this.#waiting >= this.capacity && !this.#failed) {
      await new Promise<void>((resolve) => (this.#wakeUp = resolve));
    }
    if (this.#failed) await this.#sending;
  }

  /** Waits until every answer is sent; rejects with the send that failed. */
  drain(): Promise<void> {
    return this.#sending;
  }

  /** Waits for every answer, ignoring failures (before the stream ends with an error). */
  async settle(): Promise<void> {
    await this.#sending.catch(() => undefined);
  }
}
