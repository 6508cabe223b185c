/**
 * Lets a handler go on while its messages go out, with at most `capacity` waiting. Sends run one
 * after another (a transport sees at most one at a time, so order is never in question); a failed
 * send fails every send queued behind it.
 */
export class SendWindow {
  readonly #pending: Promise<void>[] = [];

  constructor(private readonly capacity: number) {}

  /** Queues a send behind the earlier ones; waits only when more than `capacity` are queued. */
  async add(send: () => Promise<void>): Promise<void> {
    const previous = this.#pending.at(-1) ?? Promise.resolve();
    const sending = previous.then(send);
    sending.catch(() => undefined); // observed later by drain or settle
    this.#pending.push(sending);
    while (this.#pending.length > this.capacity) await this.#pending.shift();
  }

  /** Waits for every send; rejects with the first that failed. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0) await this.#pending.shift();
  }

  /** Waits for every send, ignoring failures (before ending the stream with an error). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#pending.splice(0));
  }
}
