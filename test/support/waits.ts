
// Captured before any test fakes timers, so every wait stays bounded in real time.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** The longest a single step waits by default (a process, a connection, a message). */
export const WAIT_MS = 10_000;

/**
 * Resolves with what `promise` settles to, or rejects naming `what` after `timeoutMs` of real time.
 * A function `what` is asked at the timeout, so it can tell what had arrived by then.
 */
export async function bounded<T>(promise: Promise<T>, what: string | (() => string), timeoutMs = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = realSetTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    realClearTimeout(timer);
  }
}

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

/** Bounded waits on conditions over what a test records; the recorder calls `check()` after each change. */
export class Conditions {
  #waiters: Waiter[] = [];

  /** Resolves once `ready()` holds, now or at a later `check()`; rejects naming `what` after `timeoutMs`. */
  async until(ready: () => boolean, what: string | (() => string), timeoutMs = WAIT_MS): Promise<void> {
    if (ready()) return;
    let waiter: Waiter | undefined;
    const reached = new Promise<void>((resolve) => {
      waiter = { ready, resolve };
      this.#waiters.push(waiter);
    });
    try {
      await bounded(reached, what, timeoutMs);
    } finally {
      this.#waiters = this.#waiters.filter((other) => other !== waiter);
    }
  }

  /** Resolves the waits whose condition now holds. */
  check(): void {
    const ready = this.#waiters.filter((waiter) => waiter.ready());
    this.#waiters = this.#waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }
}

/** A bus that reports its connection changes (the Redis and PostgreSQL buses). */
interface ObservableBus {
  readonly connected: boolean;
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

/** Resolves once `bus.connected` equals `wanted`. */
export function untilConnected(bus: ObservableBus, wanted: boolean): Promise<void> {
  if (bus.connected === wanted) return Promise.resolve();
  const reached = new Promise<void>((resolve) => {
    const stop = bus.onConnectionChange((now) => {
      if (now !== wanted) return;
      stop();
      resolve();
    });
  });
  return bounded(reached, `bus.connected becoming ${wanted}`);
}
