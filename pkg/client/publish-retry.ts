import { retryDelay, type RetryPolicy, type StreamsError } from "../api/internal/index.js";
import { startTimer } from "../api/internal/timer.js";
import { type GiveUp, notSentError, sentError } from "./deadline.js";
import type { LaneCall } from "./publish-call.js";

/**
 * The retry waits of idempotent publishes whose lane broke (docs/protocol.md, Idempotent publish).
 * Per store, the calls waiting to be sent again, then the publishes made since: they go out
 * together, in order, so a producer's publishes to a segment keep their order.
 */
export class PublishRetries {
  readonly #policy: RetryPolicy;
  /** Sends calls whose wait is over (the lanes of their store take them). */
  readonly #send: (storeId: string, calls: LaneCall[]) => void;
  readonly #waiting = new Map<string, LaneCall[]>();
  /** Per store waiting, what stops its retry timer. */
  readonly #timers = new Map<string, () => void>();
  /** Set by close(): what each call then given to retry() fails with. */
  #closed: (() => StreamsError) | undefined;

  constructor(policy: RetryPolicy, send: (storeId: string, calls: LaneCall[]) => void) {
    this.#policy = policy;
    this.#send = send;
  }

  /** Whether calls of `storeId` wait to be sent again: a new publish must then wait behind them. */
  waiting(storeId: string): boolean {
    return this.#waiting.has(storeId);
  }

  /** Queues a new publish behind the calls of `storeId` waiting; given up meanwhile, it was never sent. */
  join(storeId: string, call: LaneCall): void {
    const waiting = this.#waiting.get(storeId);
    if (waiting === undefined) throw new Error("join: no retry wait for this store");
    this.#wait(waiting, call, notSentError);
  }

  /**
   * Sends calls again after the retry policy's delay (none the first time), with the publishes made
   * meanwhile. Each call counts its own attempts: one out of attempts fails with `error` alone.
   */
  retry(storeId: string, broken: LaneCall[], error: StreamsError): void {
    const closed = this.#closed;
    if (closed !== undefined) {
      for (const call of broken) call.fail(closed());
      return;
    }
    const policy = this.#policy;
    const calls: LaneCall[] = [];
    for (const call of broken) {
      if (++call.retries > policy.maxAttempts) call.fail(error);
      else calls.push(call);
    }
    if (calls.length === 0) return;
    // They go out together, in order: after the longest delay any of them is due, so none goes sooner than its own pacing.
    const retries = Math.max(...calls.map((call) => call.retries));
    // These may have been stored: giving up now cannot say they were not (sentError).
    const waiting = this.#waiting.get(storeId);
    if (waiting !== undefined) {
      const since = waiting.splice(0);
      for (const call of calls) this.#wait(waiting, call, sentError);
      waiting.push(...since);
      return;
    }
    const due: LaneCall[] = [];
    this.#waiting.set(storeId, due);
    for (const call of calls) this.#wait(due, call, sentError);
    // Not unref'd: the calls wait on it. close() stops it.
    const stop = startTimer(
      () => {
        this.#timers.delete(storeId);
        this.#waiting.delete(storeId);
        this.#send(storeId, due.filter((call) => !call.settled));
      },
      retryDelay(policy, retries - 1),
      { unref: false },
    );
    this.#timers.set(storeId, stop);
  }

  /**
   * The client closes: every call waiting fails now with `error()` (as the calls in flight on its
   * lanes do), its timer is stopped (nothing keeps the process up), and later retries fail at once.
   */
  close(error: () => StreamsError): void {
    this.#closed = error;
    for (const stop of this.#timers.values()) stop();
    this.#timers.clear();
    const waiting = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    for (const call of waiting) call.fail(error());
  }

  /** Puts a call in a retry wait; given up there, it leaves it and fails with `givenUp`'s error. */
  #wait(waiting: LaneCall[], call: LaneCall, givenUp: (why: GiveUp, what: string) => StreamsError): void {
    call.holder = {
      giveUp: (gone, why) => {
        const index = waiting.indexOf(gone);
        if (index >= 0) waiting.splice(index, 1);
        gone.fail(givenUp(why, "publish"));
      },
    };
    waiting.push(call);
  }
}
