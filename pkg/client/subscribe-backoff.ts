/** Resubscribe timing: exponential from 100 ms, capped at 5 s, ±20 % jitter. */
const INITIAL_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;
const JITTER = 0.2;

/**
 * Delay before resubscribing after `failures` attempts in a row that never got established. The first
 * retry after a working subscription dropped goes at once (a reconnecting provider already paces its
 * dials); a server's `retryAfterMs` is honoured when longer.
 */
export function resubscribeDelay(failures: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const backoff = failures === 0 ? 0 : Math.min(MAX_DELAY_MS, INITIAL_DELAY_MS * 2 ** (failures - 1)) * (1 + JITTER * (2 * random() - 1));
  return Math.round(Math.max(backoff, retryAfterMs ?? 0));
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
