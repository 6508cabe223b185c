import { cancelledError, type LeaseResult, StreamsError } from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";
import { throwIfAborted } from "./abort.js";
import type { Lease } from "./lease-types.js";

/** The lease calls of one key in one store. */
export interface KeyLeaseCalls {
  acquire(holder: string, ttlMs: number, signal: AbortSignal | undefined): Promise<LeaseResult>;
  renew(holder: string, ttlMs: number, signal: AbortSignal | undefined): Promise<LeaseResult>;
  release(holder: string, signal: AbortSignal | undefined): Promise<LeaseResult>;
}

export interface WithLeaseSettings {
  key: string;
  holder: string;
  ttlMs: number;
  /** Infinity: wait until `signal` aborts. */
  waitMs: number;
  signal: AbortSignal | undefined;
}

/** Longest pause between acquire attempts while another holder has the key (a release is not announced). */
const POLL_MS = 1_000;
/** Shortest pause, so a client whose clock runs ahead of the server's does not spin. */
const MIN_RETRY_MS = 10;

/**
 * `withLease` (docs/leases.md): acquire (waiting as allowed), run `fn` under a signal that aborts when the
 * lease is lost or lapses or the caller aborts, keep renewing meanwhile, release once `fn` settles.
 */
export async function withLease<T>(
  calls: KeyLeaseCalls,
  settings: WithLeaseSettings,
  fn: (signal: AbortSignal, lease: Lease) => T | PromiseLike<T>,
): Promise<T> {
  const { signal } = settings;
  throwIfAborted(signal);
  const { result, sentAt } = await acquireWaiting(calls, settings);
  const lease = { key: settings.key, holder: settings.holder, token: result.token, expiresAt: result.expiresAt };
  const keeper = new LeaseKeeper(calls, settings, lease, sentAt);
  const stopForwarding = signal === undefined ? () => undefined : onAbort(signal, () => keeper.abort(signal.reason));
  try {
    // Aborted just as the lease came: fn is not started, the lease is released.
    throwIfAborted(signal);
    // Await inside the try, so the lease is released however fn ends.
    return await fn(keeper.signal, lease);
  } finally {
    stopForwarding();
    keeper.stop();
    // Not under the caller's signal: the lease is released even after a cancel. The store releases
    // only this holder's lease, so this never frees a newer holder's.
    await calls.release(settings.holder, undefined).catch(() => undefined);
    throwIfAborted(signal);
  }
}

/** Acquires the key, retrying while another holder has it until `waitMs` has passed. */
async function acquireWaiting(calls: KeyLeaseCalls, settings: WithLeaseSettings): Promise<{ result: LeaseResult; sentAt: number }> {
  const { holder, ttlMs, waitMs, signal } = settings;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const sentAt = Date.now();
    const result = await calls.acquire(holder, ttlMs, signal).catch((error: unknown) => {
      // The store may have granted it before the call failed (say, aborted in flight, its outcome
      // unknown): give it back. fn never ran, so an abort is the caller's `cancelled`.
      void calls.release(holder, undefined).catch(() => undefined);
      throw signal?.aborted === true ? cancelledError(signal) : error;
    });
    if (result.ok) return { result, sentAt };
    const now = Date.now();
    if (now >= deadline) {
      throw new StreamsError("deadline_exceeded", `lease ${settings.key} is held by ${result.holder}`, {
        details: { holder: result.holder, expiresAt: result.expiresAt },
      });
    }
    const untilExpiry = Math.max(result.expiresAt - now, MIN_RETRY_MS);
    await sleep(Math.min(untilExpiry, POLL_MS, deadline - now), signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      release();
      resolve();
    }, ms);
    const release =
      signal === undefined
        ? () => undefined
        : onAbort(signal, () => {
            clearTimeout(timer);
            reject(cancelledError(signal));
          });
  });
}

/**
 * Keeps a held lease: renews every third of the TTL, one renewal at a time, and aborts `signal` when
 * a renewal is refused or none succeeded in time. Expiry is judged on the local clock from when the
 * last successful renewal was sent, so a clock offset from the server's cannot make it late.
 */
class LeaseKeeper {
  readonly #calls: KeyLeaseCalls;
  readonly #settings: WithLeaseSettings;
  readonly #lease: { expiresAt: number };
  readonly #interval: number;
  readonly #held = new AbortController();
  /** Aborts an in-flight renewal once the keeper stops. */
  readonly #stopped = new AbortController();
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(calls: KeyLeaseCalls, settings: WithLeaseSettings, lease: { expiresAt: number }, sentAt: number) {
    this.#calls = calls;
    this.#settings = settings;
    this.#lease = lease;
    this.#interval = Math.max(1, Math.floor(settings.ttlMs / 3));
    this.#extended(sentAt);
  }

  /** Aborted when the lease is lost, lapses, or the caller aborts. */
  get signal(): AbortSignal {
    return this.#held.signal;
  }

  abort(reason: unknown): void {
    if (this.#held.signal.aborted) return;
    this.#held.abort(reason);
    this.stop();
  }

  stop(): void {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#expiryTimer);
    this.#stopped.abort();
  }

  /** The lease runs to `sentAt + ttlMs` at least: set the expiry, and the next renewal a third of the way. */
  #extended(sentAt: number): void {
    const now = Date.now();
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(() => this.#lapse(), Math.max(0, sentAt + this.#settings.ttlMs - now));
    this.#scheduleRenewal(Math.max(0, sentAt + this.#interval - now));
  }

  #scheduleRenewal(delayMs: number): void {
    this.#renewTimer = setTimeout(() => void this.#renew(), delayMs);
  }

  async #renew(): Promise<void> {
    const { holder, ttlMs, key } = this.#settings;
    const sentAt = Date.now();
    let result: LeaseResult;
    try {
      result = await this.#calls.renew(holder, ttlMs, this.#stopped.signal);
    } catch {
      // Try again next interval; the expiry timer ends the lease if none gets through in time.
      if (!this.#stopped.signal.aborted) this.#scheduleRenewal(this.#interval);
      return;
    }
    if (this.#stopped.signal.aborted) return;
    if (!result.ok) {
      const message = result.holder === "" ? `lease ${key} was released or expired` : `lease ${key} was taken by ${result.holder}`;
      this.abort(new StreamsError("unavailable", message, { details: { holder: result.holder, expiresAt: result.expiresAt, token: result.token } }));
      return;
    }
    this.#lease.expiresAt = result.expiresAt;
    this.#extended(sentAt);
  }

  #lapse(): void {
    this.abort(new StreamsError("deadline_exceeded", `lease ${this.#settings.key} could not be renewed before it expired`));
  }
}
