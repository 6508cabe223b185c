/**
 * Retry timing shared by the client SDK (resumes, re-subscriptions) and transports (reconnecting
 * dials): exponential backoff with jitter.
 */
export interface RetryPolicy {
  /** Delay of the first retry. */
  initialDelayMs: number;
  /** Upper bound of a delay. */
  maxDelayMs: number;
  /** Growth factor per failed attempt in a row. */
  multiplier: number;
  /** Random spread as a fraction of the delay (0.2 = ±20 %). */
  jitter: number;
  /** Failed attempts in a row before giving up with the last error. */
  maxAttempts: number;
}

/**
 * Delay before retry number `attempt` in a row: 0 goes at once, then exponential from initialDelayMs,
 * capped at maxDelayMs, spread by ±jitter, and never shorter than a server's `retryAfterMs`.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = attempt <= 0 ? 0 : Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  const spread = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.round(Math.max(spread, retryAfterMs ?? 0));
}

const isNumberIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && !Number.isNaN(value) && value >= min && value <= max;

/** Throws a TypeError naming the field (`${name}.initialDelayMs`, …) unless `policy` is usable. */
export function checkRetryPolicy(policy: RetryPolicy, name: string): void {
  if (!isNumberIn(policy.initialDelayMs, 0, Number.MAX_SAFE_INTEGER)) throw new TypeError(`${name}.initialDelayMs must be a number >= 0`);
  if (!isNumberIn(policy.maxDelayMs, policy.initialDelayMs, Number.MAX_SAFE_INTEGER)) {
    throw new TypeError(`${name}.maxDelayMs must be a number >= ${name}.initialDelayMs`);
  }
  if (!isNumberIn(policy.multiplier, 1, Number.MAX_SAFE_INTEGER)) throw new TypeError(`${name}.multiplier must be a number >= 1`);
  if (!isNumberIn(policy.jitter, 0, 1)) throw new TypeError(`${name}.jitter must be a number in 0..1`);
  const attempts = policy.maxAttempts;
  if (!(attempts === Number.POSITIVE_INFINITY || (Number.isSafeInteger(attempts) && attempts >= 1))) {
    throw new TypeError(`${name}.maxAttempts must be an integer >= 1 or Infinity`);
  }
}
