/**
 * Aborts `target` with `source`'s reason when `source` aborts (at once if it already has); returns a
 * function that stops forwarding. For one source this does what AbortSignal.any does, without its
 * weak references, which made it a tenth of a publish's CPU time.
 */
export function forwardAbort(source: AbortSignal, target: AbortController): () => void {
  if (source.aborted) {
    target.abort(source.reason);
    return () => undefined;
  }
  const onAbort = (): void => target.abort(source.reason);
  source.addEventListener("abort", onAbort, { once: true });
  return () => source.removeEventListener("abort", onAbort);
}

/**
 * Races the many waits of one stream against its signal with one abort listener for all of them,
 * not one each (adding and removing EventTarget listeners per message cost a publish lane dearly).
 * `dispose` removes the listener; races after it still settle with their promise.
 */
export class AbortRace {
  readonly #signal: AbortSignal;
  readonly #waiting = new Set<(reason: unknown) => void>();
  readonly #onAbort = (): void => {
    for (const reject of this.#waiting) reject(this.#signal.reason);
    this.#waiting.clear();
  };

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Settles like `promise`, or rejects with the signal's reason as soon as the signal aborts. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#signal.aborted) {
      promise.catch(() => undefined);
      return Promise.reject(this.#signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (reason: unknown): void => {
        promise.catch(() => undefined);
        reject(reason);
      };
      this.#waiting.add(onAbort);
      promise.then(
        (value) => {
          this.#waiting.delete(onAbort);
          resolve(value);
        },
        (error: unknown) => {
          this.#waiting.delete(onAbort);
          reject(error);
        },
      );
    });
  }

  dispose(): void {
    this.#signal.removeEventListener("abort", this.#onAbort);
  }
}

/** A signal that aborts with its parent or once `ms` have passed; `dispose` clears both. */
export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** Longest delay a Node timer keeps; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])` without its weak references: on Node 20 a
 * collected timeout signal never fires, and a long-poll waiting on one hung past its timeout once
 * garbage collection ran (docs/design.md, "HTTP gateway"). A finite `ms` above the timer range, or
 * `Infinity`, means no deadline.
 */
export function deadline(parent: AbortSignal, ms: number): Deadline {
  const controller = new AbortController();
  const stopForwarding = forwardAbort(parent, controller);
  const timer =
    ms <= MAX_TIMER_MS && !controller.signal.aborted
      ? setTimeout(() => controller.abort(new DOMException("The operation timed out.", "TimeoutError")), Math.max(0, ms))
      : undefined;
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      stopForwarding();
    },
  };
}
