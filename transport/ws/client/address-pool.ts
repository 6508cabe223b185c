import { type RetryPolicy, retryDelay } from "../../../pkg/api/internal/index.js";
import type { Address } from "./addresses.js";

interface Slot {
  readonly address: Address;
  /** Failed dials in a row; 0 once a dial succeeds. */
  failures: number;
  /** Not dialed before this time (ms since epoch): its backoff after a failure or a lost connection. */
  notBefore: number;
}

/** The next dial: where, and how long to wait first (0: now). */
export interface Pick {
  readonly address: Address;
  readonly waitMs: number;
}

export interface PoolOptions {
  retry: RetryPolicy;
  /** Shuffle the addresses (default), so clients given the same list spread over the servers. */
  randomize: boolean;
  random?: () => number;
  now?: () => number;
}

/**
 * The servers a provider may dial and the backoff of each (see docs/deployment.md, "Client
 * failover"). An address that fails waits out its own exponential backoff, so a dead server is not
 * redialed hot while others answer; one whose connection was lost waits the first step of it, so
 * the next dial goes to another server and a server that accepts then drops does not spin the client.
 * Among the addresses free to dial, the one with the fewest failures in a row comes first, then the
 * least recently dialed (a rotation over a shuffled start).
 */
export class AddressPool {
  readonly #retry: RetryPolicy;
  readonly #randomize: boolean;
  readonly #random: () => number;
  readonly #now: () => number;
  /** In rotation order: the least recently dialed first. */
  #slots: Slot[] = [];

  constructor(options: PoolOptions) {
    this.#retry = options.retry;
    this.#randomize = options.randomize;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** The addresses in rotation order (for tests and logs). */
  get addresses(): Address[] {
    return this.#slots.map((slot) => slot.address);
  }

  /** Takes the current address list: known addresses keep their backoff and place, new ones join in random order. */
  update(addresses: readonly Address[]): void {
    const wanted = new Map(addresses.map((address) => [address.streamz, address]));
    const kept = this.#slots.filter((slot) => wanted.has(slot.address.streamz));
    const known = new Set(kept.map((slot) => slot.address.streamz));
    const added = addresses.filter((address) => !known.has(address.streamz)).map((address) => ({ address, failures: 0, notBefore: 0 }));
    this.#slots = [...kept, ...this.#shuffled(added)];
  }

  /**
   * Where to dial next. An address free now moves to the end of the rotation (it is being dialed); one
   * to wait for stays in place, as the caller picks again after the wait. Throws when the pool is empty.
   */
  pick(): Pick {
    const now = this.#now();
    const ranked = [...this.#slots.entries()].sort(([ai, a], [bi, b]) => {
      const aFree = a.notBefore <= now;
      const bFree = b.notBefore <= now;
      if (aFree !== bFree) return aFree ? -1 : 1;
      // When none is free, the one free soonest.
      if (!aFree && a.notBefore !== b.notBefore) return a.notBefore - b.notBefore;
      return a.failures - b.failures || ai - bi;
    });
    const first = ranked[0];
    if (first === undefined) throw new TypeError("no address to dial");
    const [index, slot] = first;
    const waitMs = Math.max(0, slot.notBefore - now);
    if (waitMs === 0) {
      this.#slots.splice(index, 1);
      this.#slots.push(slot);
    }
    return { address: slot.address, waitMs };
  }

  /** A dial to `address` failed: its backoff grows. */
  failed(address: Address): void {
    const slot = this.#slot(address);
    if (slot === undefined) return;
    slot.failures++;
    slot.notBefore = this.#now() + retryDelay(this.#retry, slot.failures, undefined, this.#random);
  }

  /** A dial to `address` succeeded. */
  connected(address: Address): void {
    const slot = this.#slot(address);
    if (slot === undefined) return;
    slot.failures = 0;
    slot.notBefore = 0;
  }

  /** The connection to `address` was lost (or the server went away): it waits one backoff step. */
  lost(address: Address): void {
    const slot = this.#slot(address);
    if (slot === undefined) return;
    slot.notBefore = this.#now() + retryDelay(this.#retry, 1, undefined, this.#random);
  }

  #slot(address: Address): Slot | undefined {
    return this.#slots.find((slot) => slot.address.streamz === address.streamz);
  }

  #shuffled<T>(items: T[]): T[] {
    if (!this.#randomize) return items;
    // Fisher–Yates.
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}
