import { cancelledError, StreamsError } from "../../pkg/api/index.js";

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

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get done(): boolean {
    return this.#ended || this.#error !== undefined;
  }

  async push(message: Uint8Array): Promise<void> {
    if (this.#error) throw this.#error;
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
    if (this.#error) throw this.#error;
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

  /** Ends now: queued messages are dropped and every waiter is rejected. */
  abort(error: StreamsError = cancelledError()): void {
    this.#queue.length = 0;
    this.#error ??= error;
    this.#ended = true;
    for (const reader of this.#readers.splice(0)) reader.reject(error);
    for (const writer of this.#writers.splice(0)) writer.reject(error);
  }
}
