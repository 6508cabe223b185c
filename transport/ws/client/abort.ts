import { StreamsError } from "../../../pkg/api/index.js";
import { startTimer } from "../../../pkg/api/internal/timer.js";

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = startTimer(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      },
      ms,
      { unref: false },
    );
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** `promise`, or a rejection with the signal's reason (as a StreamsError) once `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const reason = () => StreamsError.from(signal.reason, "unavailable");
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Aborts `controller` when `signal` aborts; returns a function that stops following. */
export function follow(signal: AbortSignal, controller: AbortController): () => void {
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
