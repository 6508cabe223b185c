/**
 * A follower's wake-up call: whatever may have given it work calls `wake`, and an idle follower
 * awaits `wait`. A wake while it was busy is kept, so nothing that happened between its last look and
 * its wait is missed. It holds one flag and at most one abort listener.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  readonly wake = (): void => {
    this.#pending = true;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  };

  /** Resolves at once if woken since the last wait, else at the next wake; rejects when `signal` aborts first. */
  async wait(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (!this.#pending) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#resolve = undefined;
          reject(signal.reason);
        };
        this.#resolve = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    this.#pending = false;
  }
}
