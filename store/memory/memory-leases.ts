import type { LeaseResult } from "../../pkg/api/index.js";
import type { LeaseDecision, LeaseState } from "../leases.js";

/** Lease states of one memory store, kept with its data. Each update runs in one synchronous step, so it is atomic. */
export class MemoryLeases {
  readonly #states = new Map<string, LeaseState>();

  update(key: string, decide: LeaseDecision): LeaseResult {
    const { result, next } = decide(this.#states.get(key), Date.now());
    if (next !== undefined) this.#states.set(key, next);
    return result;
  }
}
