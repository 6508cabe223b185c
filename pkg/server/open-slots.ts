/**
 * Counts open stores against `maxOpenStores`: a slot is taken when a store starts opening and given
 * back once its node has closed, so stores being opened or closed count too (they hold descriptors).
 * A slot given back goes to the longest waiter first.
 */
export class OpenSlots {
  readonly #max: number;
  #used = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  get max(): number {
    return this.#max;
  }

  get used(): number {
    return this.#used;
  }

  /** Callers already waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a free slot; false when none is free. */
  tryTake(): boolean {
    if (this.#used >= this.#max) return false;
    this.#used++;
    return true;
  }

  /** Resolves with a slot once one is given back (queued behind earlier waiters). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a slot back: to the first waiter if there is one. */
  give(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#used--;
  }
}
