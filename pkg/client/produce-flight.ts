import type { ClientStream, StreamsError } from "../api/internal/index.js";
import { startTimer } from "../api/internal/timer.js";
import { type GiveUp, notSentError, sentError } from "./deadline.js";

/**
 * What of a produce has gone out and been answered, so that giving it up (an abort, or a batch's
 * status not coming within `timeoutMs` of the batch being sent) can tell whether a write may have
 * been applied without an answer: only a batch sent and unanswered makes the outcome unknown;
 * otherwise (nothing sent, or every batch sent already answered) the produce rejects with `cancelled`
 * (docs/design.md, "Cancelled before sent" and "Deadlines").
 */
export class ProduceFlight {
  readonly #stream: ClientStream;
  readonly #timeoutMs: number;
  /** The batch given to stream.send, until the transport has taken it (or given it back). */
  #pending: Uint8Array | undefined;
  /** Batches the transport has taken. */
  #written = 0;
  /** Statuses received. */
  #answers = 0;
  /** When each unanswered batch's status is due (Date.now() ms), oldest first; empty without a deadline. */
  readonly #due: number[] = [];
  #stopTimer: () => void = () => undefined;
  /** Set once given up: why, and whether the batch being sent then could not be taken back. */
  #gaveUp: { why: GiveUp; pendingSent: boolean } | undefined;
  #error: StreamsError | undefined;

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
    this.#answers++;
    if (this.#due.shift() === undefined) return;
    this.#stopTimer();
    this.#arm();
  }

  /** True once given up: nothing more is sent. */
  get stopped(): boolean {
    return this.#gaveUp !== undefined;
  }

  /**
   * What the produce rejects with once given up (undefined before). Decided when first asked, after
   * the produce's stream has failed, so that a status already received when the abort came (its
   * read not yet resumed) counts as an answer.
   */
  get givenUp(): StreamsError | undefined {
    if (this.#gaveUp === undefined) return undefined;
    if (this.#error !== undefined) return this.#error;
    const { why, pendingSent } = this.#gaveUp;
    const unanswered = this.#written + (pendingSent ? 1 : 0) > this.#answers;
    this.#error = unanswered ? sentError(why, "produce") : notSentError(why, "produce");
    return this.#error;
  }

  /** Gives the produce up, taking back the batch being sent if it is still unsent, and cancels the stream. */
  giveUp(why: GiveUp): void {
    if (this.#gaveUp !== undefined) return;
    const pending = this.#pending;
    const pendingSent = pending !== undefined && this.#stream.withdraw?.(pending) !== true;
    this.#gaveUp = { why, pendingSent };
    this.stop();
    // A deadline is only armed while a batch is unanswered: its error is decided now.
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
