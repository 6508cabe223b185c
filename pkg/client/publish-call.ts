import { cancelledError, type PublishRequest, type SegmentStatus } from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";

/** Where an aborted call goes: what holds it (a lane, a retry wait) decides whether it can still be taken back. */
export interface CallHolder {
  abort(call: LaneCall, signal: AbortSignal): void;
}

/**
 * One publish waiting for its answer. Settles once; an abort settles it early (its answer is then
 * dropped): `cancelled` if its holder could take it back unsent, outcome unknown otherwise.
 */
export class LaneCall {
  readonly promise: Promise<SegmentStatus>;
  #resolve!: (status: SegmentStatus) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #release: () => void = () => undefined;
  /** What holds the call now (a call taken back from an unopened lane moves to the next). */
  holder: CallHolder | undefined;
  /** Times the call was sent again after its lane broke. */
  retries = 0;

  constructor(
    readonly request: PublishRequest,
    readonly signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise<SegmentStatus>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal !== undefined) {
      this.#release = onAbort(signal, () => {
        if (this.holder === undefined) this.fail(cancelledError(signal));
        else this.holder.abort(this, signal);
      });
    }
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

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#release();
    return true;
  }
}
