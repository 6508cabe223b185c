import type { ClientStream, StreamsError } from "../api/internal/index.js";
import { startTimer } from "../api/internal/timer.js";
import { type GiveUp, notSentError, sentError } from "./deadline.js";

/**
 * What of a produce has gone out, so that giving it up (an abort, or a batch's status not coming
 * within `timeoutMs` of the batch being sent) can tell whether anything of it may have been stored:
 * nothing sent is `cancelled` (or `deadline_exceeded` without an outcome), anything sent is outcome
 * unknown (docs/design.md, "Cancelled before sent" and "Deadlines").
 */
export class ProduceFlight {
  readonly #stream: ClientStream;
  readonly #timeoutMs: number;
  /** The batch given to stream.send, until the transport has taken it (or given it back). */
  #pending: Uint8Array | undefined;
  /** Batches the transport has taken. */
  #written = 0;
  /** When each unanswered batch's status is due (Date.now() ms), oldest first; empty without a deadline. */
  readonly #due: number[] = [];
  #stopTimer: () => void = () => undefined;
  /** Set once given up: what the produce rejects with. */
  givenUp: StreamsError | undefined;

  constructor(stream: ClientStream, timeoutMs: number) {
    this.#stream = stream;
    this.#timeoutMs = timeoutMs;
  }

  /** `bytes`, a batch, goes to the stream now. */
  sending(bytes: Uint8Array): void {
    this.#pending = bytes;
    if (this.#timeoutMs === Number.POSITIVE_INFINITY) return;
    this.#due.push(Date.now() + this.#timeoutMs);
    if (this.#due.length === 1) this.#arm();
  }

  /** The transport took the batch being sent. */
  sent(): void {
    this.#pending = undefined;
    this.#written++;
  }

  /** A status came: the oldest unanswered batch is answered. */
  answered(): void {
    if (this.#due.shift() === undefined) return;
    this.#stopTimer();
    this.#arm();
  }

  /** Rejects the produce with the error `why` calls for, taking back the batch being sent if it is still unsent, and cancels the stream. */
  giveUp(why: GiveUp): void {
    if (this.givenUp !== undefined) return;
    const pending = this.#pending;
    const pendingSent = pending !== undefined && this.#stream.withdraw?.(pending) !== true;
    this.givenUp = this.#written > 0 || pendingSent ? sentError(why, "produce") : notSentError(why, "produce");
    this.stop();
    this.#stream.cancel("signal" in why ? why.signal.reason : this.givenUp);
  }

  /** Stops the deadline timer. */
  stop(): void {
    this.#stopTimer();
    this.#stopTimer = () => undefined;
  }

  #arm(): void {
    const due = this.#due[0];
    if (due === undefined) return;
    const timeoutMs = this.#timeoutMs;
    // Not unref'd: the produce waits on this status, and the deadline ends that wait.
    this.#stopTimer = startTimer(() => this.giveUp({ timeoutMs }), Math.max(0, due - Date.now()), { unref: false });
  }
}
