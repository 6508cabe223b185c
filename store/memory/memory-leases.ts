import { compareNames, type LeaseResult } from "../../pkg/api/internal/index.js";
import { type LeaseDecision, type LeasePage, type LeaseState, liveLease } from "../leases.js";
import type { LeaseInfo } from "../types.js";

/** Lease states of one memory store, kept with its data. Each update runs in one synchronous step, so it is atomic. */
export class MemoryLeases {
  readonly #states = new Map<string, LeaseState>();

  update(key: string, decide: LeaseDecision): LeaseResult {
    const { result, next } = decide(this.#states.get(key), Date.now());
    if (next !== undefined) this.#states.set(key, next);
    return result;
  }

  /** Live leases after `page.after`, by key; sorts the live ones only (released and expired keys stay as counters). */
  list(page: LeasePage): LeaseInfo[] {
    const now = Date.now();
    const live: LeaseInfo[] = [];
    for (const [key, state] of this.#states) {
      if (page.after !== undefined && compareNames(key, page.after) <= 0) continue;
      const lease = liveLease(key, state, now);
      if (lease !== undefined) live.push(lease);
    }
    return live.sort((a, b) => compareNames(a.key, b.key)).slice(0, page.limit);
  }
}
