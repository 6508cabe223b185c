import { StreamsError } from "streamkit-ts/client";

/** `--smoke`: run the scripted scenario once, check it, and exit (what CI runs); otherwise run until Ctrl-C. */
export const smoke = process.argv.includes("--smoke");

/** Aborts on the first Ctrl-C (SIGINT) or SIGTERM, which then no longer end the process by themselves. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    controller.abort(new Error("interrupted"));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

/** Resolves on the first Ctrl-C (SIGINT) or SIGTERM. */
export function untilInterrupted(): Promise<void> {
  const signal = interruptSignal();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** Waits for `promise`, failing with a clear message after `ms`, so a broken example ends instead of hanging. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loop stopped by its signal ends with `cancelled`: that is the normal way out, not a failure. */
export function isCancelled(error: unknown): boolean {
  return error instanceof StreamsError && error.kind === "cancelled";
}

/** Runs an example's main function: a failure is printed and the exit code is 1; success leaves the process to exit by itself. */
export function runExample(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error("example failed:", error);
    process.exitCode = 1;
  });
}

/** State changes an example waits on: call `changed()` after each change; `until` resolves once its predicate holds. */
export class Changes {
  readonly #waiters = new Set<() => void>();

  changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  /** Resolves to true once `predicate` holds, or to false if `signal` aborts first. */
  until(predicate: () => boolean, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const settle = (held: boolean) => {
        this.#waiters.delete(check);
        signal?.removeEventListener("abort", onAbort);
        resolve(held);
      };
      const check = () => {
        if (predicate()) settle(true);
      };
      const onAbort = () => settle(false);
      if (signal?.aborted) return settle(false);
      this.#waiters.add(check);
      signal?.addEventListener("abort", onAbort, { once: true });
      check();
    });
  }
}
