/**
 * Waits until `subscribe` calls its `wake` or `signal` aborts (rejecting with the signal's reason).
 * `subscribe` returns a function that withdraws the subscription.
 */
export function waitUntil(signal: AbortSignal, subscribe: (wake: () => void) => () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      unsubscribe();
      reject(signal.reason);
    };
    const unsubscribe = subscribe(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
