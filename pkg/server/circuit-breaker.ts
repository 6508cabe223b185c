import { StreamsError } from "../api/index.js";
import type { CircuitBreakerOptions } from "./options.js";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitInfo {
  storeId: string;
  state: CircuitState;
  /** Consecutive failed opens. */
  failures: number;
  /** Time left in the open window (0 unless open). */
  retryAfterMs: number;
}

interface Circuit {
  failures: number;
  /** When the open window ends (ms since epoch); 0 while fewer than threshold failures. */
  openUntil: number;
  /** A trial attempt after the open window is in flight. */
  trial: boolean;
}

/**
 * Per-store-id circuit breaker for store opens: after `failureThreshold` consecutive failures,
 * attempts fail fast for `openMs`; then one trial goes through, and its failure reopens a full window.
 */
export class CircuitBreaker {
  readonly #circuits = new Map<string, Circuit>();

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** Admits an open attempt or throws `unavailable` (with `retryAfterMs` while the window is open). */
  admit(storeId: string): void {
    const circuit = this.#circuits.get(storeId);
    if (circuit === undefined || circuit.failures < this.options.failureThreshold) return;
    const left = circuit.openUntil - Date.now();
    if (left > 0) {
      throw new StreamsError("unavailable", `store ${storeId} is unavailable: circuit open after ${circuit.failures} failed opens`, {
        retryAfterMs: left,
      });
    }
    if (circuit.trial) throw new StreamsError("unavailable", `store ${storeId} is unavailable: a trial open is in progress`);
    circuit.trial = true;
  }

  /** An admitted attempt that never ran (refused for want of room): a trial it held may go to the next caller. */
  abandoned(storeId: string): void {
    const circuit = this.#circuits.get(storeId);
    if (circuit !== undefined) circuit.trial = false;
  }

  succeeded(storeId: string): void {
    this.#circuits.delete(storeId);
  }

  /** Records a failed open; returns the time until the next attempt is admitted, or undefined if it is now. */
  failed(storeId: string): number | undefined {
    const circuit = this.#circuits.get(storeId) ?? { failures: 0, openUntil: 0, trial: false };
    circuit.failures++;
    circuit.trial = false;
    this.#circuits.set(storeId, circuit);
    if (circuit.failures < this.options.failureThreshold) return undefined;
    circuit.openUntil = Date.now() + this.options.openMs;
    return this.options.openMs;
  }

  /** Forgets the store id's failures (an operator's reset): the next attempt goes through. False when there were none. */
  reset(storeId: string): boolean {
    return this.#circuits.delete(storeId);
  }

  /** Store ids with failed opens, for status. */
  circuits(): CircuitInfo[] {
    const now = Date.now();
    return [...this.#circuits].map(([storeId, circuit]) => {
      const retryAfterMs = Math.max(0, circuit.openUntil - now);
      const open = circuit.failures >= this.options.failureThreshold;
      const state: CircuitState = !open ? "closed" : retryAfterMs > 0 ? "open" : "half-open";
      return { storeId, state, failures: circuit.failures, retryAfterMs };
    });
  }
}
