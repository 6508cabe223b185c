// What the fan-out and durable-publish cases share: lag percentiles without keeping every sample,
// a paced publisher with bounded concurrency, and peer reachability checks.
import { connect } from "node:net";

/** Lags in whole milliseconds, counted per millisecond up to a minute (beyond: the last bucket). */
export class LagHistogram {
  readonly #buckets = new Float64Array(60_001);
  count = 0;

  add(ms: number): void {
    const bucket = Math.min(this.#buckets.length - 1, Math.max(0, Math.round(ms)));
    this.#buckets[bucket] = (this.#buckets[bucket] as number) + 1;
    this.count++;
  }

  /** The smallest lag that `fraction` of the samples do not exceed. */
  percentile(fraction: number): number {
    const rank = Math.ceil(this.count * fraction);
    let seen = 0;
    for (let ms = 0; ms < this.#buckets.length; ms++) {
      seen += this.#buckets[ms] as number;
      if (seen >= rank && seen > 0) return ms;
    }
    return Number.NaN;
  }
}

export interface PublishRun {
  published: number;
  ms: number;
}

/**
 * Calls `publish` at `rate` per second (0: as fast as `maxInFlight` concurrent calls allow) for
 * `seconds`, never more than `maxCount` times and never with more than `maxInFlight` unsettled.
 * Resolves once every call has settled; the first failure rejects.
 */
export async function runPublisher(options: {
  rate: number;
  seconds: number;
  maxInFlight: number;
  maxCount: number;
  publish: (index: number) => Promise<unknown>;
}): Promise<PublishRun> {
  const { rate, seconds, maxInFlight, maxCount, publish } = options;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let published = 0;
  let inFlight = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    wake?.();
  };
  const waitForRoom = () => new Promise<void>((resolve) => (wake = resolve));
  while (published < maxCount && failure === undefined) {
    const now = performance.now();
    if (now >= deadline) break;
    if (inFlight >= maxInFlight) {
      await waitForRoom();
      continue;
    }
    const due = rate === 0 ? maxCount : Math.min(maxCount, Math.floor(((now - started) / 1000) * rate) + 1);
    if (published >= due) {
      // Paced: wait for the next publish's time (timers are ~1 ms grained; bursts catch up).
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, ((published / rate) * 1000 - (now - started)) | 0)));
      continue;
    }
    inFlight++;
    publish(published++).then(settled, (error: unknown) => {
      failure ??= error;
      settled();
    });
  }
  while (inFlight > 0) await waitForRoom();
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error("a publish failed", { cause: failure });
  return { published, ms: performance.now() - started };
}

/** Whether something accepts TCP connections at host:port (within `timeoutMs`). */
export function reachable(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Resolves once `ready()` holds (checked whenever `poke` runs), or rejects naming `what` after `timeoutMs`. */
export function until(ready: () => boolean, what: () => string, timeoutMs: number): { poke: () => void; reached: Promise<void> } {
  let resolveReached: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<void>((resolve, reject) => {
    resolveReached = resolve;
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what()}`)), timeoutMs);
  });
  const poke = () => {
    if (!ready()) return;
    clearTimeout(timer);
    resolveReached();
  };
  // Whoever races it may have stopped listening: a late timeout must not surface as unhandled.
  reached.catch(() => undefined);
  poke();
  return { poke, reached };
}

export const MB = 1024 * 1024;
