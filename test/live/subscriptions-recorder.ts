import type { SegmentStatus } from "../../pkg/client/index.js";

const DEFAULT_WAIT_MS = 15_000;

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

/**
 * Records what a status subscription delivers and lets a test wait, bounded, until it has seen
 * something. Waits use real timers (tests fake only setInterval/clearInterval).
 */
export class StatusRecorder {
  readonly statuses: SegmentStatus[] = [];
  #waiters: Waiter[] = [];

  /** Pass as `onStatus`. */
  readonly listener = (status: SegmentStatus): void => {
    this.statuses.push(status);
    this.#check();
  };

  get updates(): SegmentStatus[] {
    return this.statuses.filter((status) => status.heartbeat !== true);
  }

  get heartbeats(): SegmentStatus[] {
    return this.statuses.filter((status) => status.heartbeat === true);
  }

  /** Last sequences of `segment`'s non-heartbeat statuses, in delivery order. */
  sequencesOf(segment: string): number[] {
    return this.updates.filter((status) => status.segment === segment).map((status) => status.lastSequence);
  }

  /** Resolves once `ready()` holds; rejects naming `what` after `timeoutMs`. */
  until(ready: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((other) => other !== waiter);
        reject(new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.statuses)}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Waits for a non-heartbeat status of `segment` at `lastSequence` or later. */
  untilSequence(segment: string, lastSequence: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.sequencesOf(segment).some((sequence) => sequence >= lastSequence), `${segment} at ${lastSequence}`, timeoutMs);
  }

  /** Waits for `count` heartbeats in all. */
  untilHeartbeats(count: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.heartbeats.length >= count, `${count} heartbeat(s)`, timeoutMs);
  }

  #check(): void {
    const ready = this.#waiters.filter((waiter) => waiter.ready());
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }
}

/** Resolves with what `promise` settles to, or rejects naming `what` after `timeoutMs`. */
export async function bounded<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
