import { cancelledError } from "../api/index.js";

/** How a consume iterator paces its resumes after its stream failed with a transient error. */
export interface ResumePolicy {
  /** Delay before the first resume after a stream that delivered something failed. */
  initialDelayMs: number;
  /** Upper bound of a delay (a server's `retryAfterMs` is honoured up to it too). */
  maxDelayMs: number;
  /** Growth factor per resume in a row that delivered nothing. */
  multiplier: number;
  /** Random spread as a fraction of the delay (0.2 = ±20 %). */
  jitter: number;
  /** Resumes in a row that deliver nothing before the iterator gives up with the last error. */
  maxAttempts: number;
}

export const DEFAULT_RESUME_POLICY: Readonly<ResumePolicy> = {
  initialDelayMs: 50,
  maxDelayMs: 5_000,
  multiplier: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/**
 * Delay before resume number `attempt` in a row (1-based): exponential, capped, spread by ±jitter,
 * and never shorter than the server's `retryAfterMs` (itself capped at maxDelayMs).
 */
export function resumeDelay(policy: ResumePolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  const spread = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.round(Math.max(spread, Math.min(retryAfterMs ?? 0, policy.maxDelayMs)));
}

/** Resolves after `ms`; rejects with `cancelled` (cause = the reason) as soon as `signal` aborts. */
export function waitBeforeResume(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelledError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
