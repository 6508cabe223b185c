import type { PublishRequest, SegmentStatus } from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";
import { type GiveUp, notSentError, startDeadline } from "./deadline.js";

/** Where a call given up (aborted, or past its deadline) goes: what holds it (a lane, a retry wait) decides whether it can still be taken back. */
export interface CallHolder {
  giveUp(call: LaneCall, why: GiveUp): void;
}

/**
 * One publish waiting for its answer. Settles once; an abort or its deadline settles it early (its
 * answer is then dropped): `cancelled` (or `deadline_exceeded`, nothing sent) if its holder could take
 * it back unsent, outcome unknown otherwise.
 */
export class LaneCall {
  readonly promise: Promise<SegmentStatus>;
  #resolve!: (status: SegmentStatus) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #stopListening: () => void = () => undefined;
  #stopDeadline: () => void = () => undefined;
  /** What holds the call now (a call taken back from an unopened lane moves to the next). */
  holder: CallHolder | undefined;
  /** Times the call was sent again after its lane broke. */
  retries = 0;

  constructor(
    readonly request: PublishRequest,
    readonly signal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    this.promise = new Promise<SegmentStatus>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal !== undefined) this.#stopListening = onAbort(signal, () => this.#giveUp({ signal }));
    this.#stopDeadline = startDeadline(timeoutMs, () => this.#giveUp({ timeoutMs }));
  }

  get settled(): boolean {
    return this.#settled;
  }

  answer(status: SegmentStatus): void {
    if (this.#settle()) this.#resolve(status);
  }

  fail(error: unknown): void {
    if (this.#settle()) this.#reject(error);
  }

  #giveUp(why: GiveUp): void {
    if (this.holder === undefined) this.fail(notSentError(why, "publish"));
    else this.holder.giveUp(this, why);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#stopListening();
    this.#stopDeadline();
    return true;
  }
}
