import { cancelledError, checkRetryPolicy, type RetryPolicy } from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";

export { type RetryPolicy, retryDelay } from "../api/internal/index.js";

/**
 * How the client paces its own retries after a transient failure: consume iterators resuming after
 * their last entry, subscriptions and worker streams re-subscribing. Set with `createClient(provider,
 * { retry })`. Permanent errors and cancellations are never retried.
 */
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
  const defined = Object.entries(partial).filter(([, value]) => value !== undefined);
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(defined) };
  checkRetryPolicy(policy, "options.retry");
  return policy;
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      release();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const release = onAbort(signal, done);
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

