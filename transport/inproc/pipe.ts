import { cancelledError, StreamsError } from "../../pkg/api/internal/index.js";

/**
 * One direction of an in-process stream: a bounded queue of encoded messages.
 * `push` waits while the queue is full, so a reader that stops reading stalls only its own stream.
 */
export class Pipe {
  readonly #queue: Uint8Array[] = [];
  readonly #capacity: number;
  #readers: { resolve: (value: Uint8Array | undefined) => void; reject: (error: unknown) => void }[] = [];
  #writers: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #ended = false;
  #error: StreamsError | undefined;
  /** Aborted without a reason: the `cancelled` error is built only if someone is told (an Error's stack is costly). */
  #cancelled = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get done(): boolean {
    return this.#ended || this.#error !== undefined;
  }

  /** Why the pipe failed, if it did. */
  get #failure(): StreamsError | undefined {
    if (this.#error === undefined && this.#cancelled) this.#error = cancelledError();
    return this.#error;
  }

  async push(message: Uint8Array): Promise<void> {
    const failure = this.#failure;
    if (failure) throw failure;
    if (this.#ended) throw new StreamsError("internal", "send after end");
    const reader = this.#readers.shift();
    if (reader) {
      reader.resolve(message);
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length < this.#capacity) return;
    await new Promise<void>((resolve, reject) => this.#writers.push({ resolve, reject }));
  }

  async pull(): Promise<Uint8Array | undefined> {
    const message = this.#queue.shift();
    if (message !== undefined) {
      this.#writers.shift()?.resolve();
      return message;
    }
    const failure = this.#failure;
    if (failure) throw failure;
    if (this.#ended) return undefined;
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  /** No more messages; queued ones are still delivered. */
  end(): void {
    if (this.done) return;
    this.#ended = true;
    for (const reader of this.#readers.splice(0)) reader.resolve(undefined);
  }

  /** Ends with an error after queued messages are delivered. */
  fail(error: StreamsError): void {
    if (this.done) return;
    this.#error = error;
    for (const reader of this.#readers.splice(0)) reader.reject(error);
  }

  /** Ends now: queued messages are dropped and every waiter is rejected (with `cancelled` when no error is given). */
  abort(error?: StreamsError): void {
    this.#queue.length = 0;
    this.#ended = true;
    if (error === undefined && this.#readers.length === 0 && this.#writers.length === 0) {
      this.#cancelled = true;
      return;
    }
    const reason = error ?? cancelledError();
    this.#error ??= reason;
    for (const reader of this.#readers.splice(0)) reader.reject(reason);
    for (const writer of this.#writers.splice(0)) writer.reject(reason);
  }
}
