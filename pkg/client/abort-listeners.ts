/**
 * One `abort` listener per signal, however many calls share it.
 *
 * An app often passes one AbortSignal to many calls at once (say, every follower of a page). Each
 * call adding its own listener is not a leak when calls remove theirs, but Node warns
 * (MaxListenersExceededWarning) past 10, and raising the limit is Node-only (this SDK runs in
 * browsers too). So the calls of one signal share one listener that runs their callbacks; the
 * listener goes when the last call stops listening. See README.md (Using the SDK).
 */

interface Listeners {
  readonly callbacks: Set<{ run: () => void }>;
  readonly dispatch: () => void;
}

const bySignal = new WeakMap<AbortSignal, Listeners>();

/** Listeners held for `signal` right now (tests check that calls release theirs). */
export function abortListenerCount(signal: AbortSignal): number {
  return bySignal.get(signal)?.callbacks.size ?? 0;
}

/**
 * Runs `callback` once when `signal` aborts; returns a function that stops listening (idempotent).
 * Like addEventListener, nothing runs for a signal that has already aborted: callers check first.
 * Callbacks run in the order they were added.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) return () => undefined;
  let listeners = bySignal.get(signal);
  if (listeners === undefined) {
    const callbacks = new Set<{ run: () => void }>();
    const dispatch = (): void => {
      bySignal.delete(signal);
      const pending = [...callbacks];
      callbacks.clear();
      let failure: { error: unknown } | undefined;
      for (const entry of pending) {
        try {
          entry.run();
        } catch (error) {
          failure ??= { error };
        }
      }
      // One throwing callback does not keep the others from running; its error still surfaces.
      if (failure !== undefined) throw failure.error;
    };
    listeners = { callbacks, dispatch };
    bySignal.set(signal, listeners);
    signal.addEventListener("abort", dispatch, { once: true });
  }
  const entry = { run: callback };
  const held = listeners;
  held.callbacks.add(entry);
  return () => {
    if (!held.callbacks.delete(entry) || held.callbacks.size > 0) return;
    signal.removeEventListener("abort", held.dispatch);
    if (bySignal.get(signal) === held) bySignal.delete(signal);
  };
}
