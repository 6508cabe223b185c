/**
 * One pending timeout per key (a worker's expiry, a retry). Timers are unref'd: presence bookkeeping
 * alone never keeps a process alive.
 */
export class KeyedTimers<K> {
  readonly #timers = new Map<K, ReturnType<typeof setTimeout>>();

  /** (Re)arms `key`'s timer: `callback` runs after `delayMs` unless the key is re-armed or cleared first. */
  arm(key: K, delayMs: number, callback: () => void): void {
    this.clear(key);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      callback();
    }, delayMs);
    timer.unref?.();
    this.#timers.set(key, timer);
  }

  has(key: K): boolean {
    return this.#timers.has(key);
  }

  clear(key: K): void {
    const timer = this.#timers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(key);
  }

  clearAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
