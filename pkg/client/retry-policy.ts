import { cancelledError } from "../api/index.js";

/**
 * How the client paces its own retries after a transient failure: consume iterators resuming after
 * their last entry, subscriptions and worker streams re-subscribing. Set with `createClient(provider,
 * { retry })`. Permanent errors and cancellations are never retried.
 */
export interface RetryPolicy {
  /** Delay of the first retry after a stream that had been working failed. */
  initialDelayMs: number;
  /** Upper bound of a delay (a server's `retryAfterMs` is honoured up to it too). */
  maxDelayMs: number;
  /** Growth factor per failed attempt in a row. */
  multiplier: number;
  /** Random spread as a fraction of the delay (0.2 = ±20 %). */
  jitter: number;
  /** Attempts in a row that get nowhere before a read gives up with the last error. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  multiplier: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** Merges a partial policy over the defaults; TypeError on a wrong value. */
export function resolveRetryPolicy(partial: unknown): RetryPolicy {
  if (partial === undefined) return { ...DEFAULT_RETRY_POLICY };
  if (typeof partial !== "object" || partial === null) throw new TypeError("options.retry must be an object");
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const key of Object.keys(DEFAULT_RETRY_POLICY) as (keyof RetryPolicy)[]) {
    const value = (partial as Partial<RetryPolicy>)[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || Number.isNaN(value) || value < 0) throw new TypeError(`options.retry.${key} must be a number >= 0`);
    policy[key] = value;
  }
  if (policy.jitter > 1) throw new TypeError("options.retry.jitter must be at most 1");
  if (policy.multiplier < 1) throw new TypeError("options.retry.multiplier must be at least 1");
  return policy;
}

/**
 * Delay before retry number `attempt` in a row: 0 goes at once (a reconnecting provider already paces
 * its dials), then exponential from initialDelayMs, capped, spread by ±jitter, and never shorter than
 * the server's `retryAfterMs` (an open circuit breaker says how long it stays open).
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = attempt <= 0 ? 0 : Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  const spread = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.round(Math.max(spread, retryAfterMs ?? 0));
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Resolves after `ms`; rejects with `cancelled` (cause = the reason) as soon as `signal` aborts. */
export async function pauseOrCancel(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw cancelledError(signal);
  if (signal === undefined) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return;
  }
  await pause(ms, signal);
  if (signal.aborted) throw cancelledError(signal);
}

