import type { Retention, SegmentStatus } from "../api/index.js";
import type { Store } from "../../store/types.js";
import type { Logger } from "../api/logger.js";

/** How often each open store's retention is enforced, and the retention of spaces without their own. */
export interface RetentionSweepOptions {
  sweepIntervalMs: number;
  /** Space name → retention, for spaces whose store sets none (docs/lifecycle.md). */
  defaults: { [space: string]: Retention };
}

export const DEFAULT_RETENTION_SWEEP: RetentionSweepOptions = { sweepIntervalMs: 60_000, defaults: {} };

/**
 * Enforces one store's retention in the background (docs/lifecycle.md): a sweep every interval, one
 * at a time, each truncation notified like a commit. A sweep only moves segment heads through the
 * store's ordinary write path, so produce never waits for it; a failed sweep is logged and the next
 * one tries again.
 */
export class RetentionSweeper {
  readonly #store: Store;
  readonly #options: RetentionSweepOptions;
  readonly #defaults: ReadonlyMap<string, Retention>;
  readonly #notify: (status: SegmentStatus) => void;
  readonly #logger: Logger;
  /** Aborts the sweep under way; made with it, since most nodes close without ever sweeping (docs/tenants.md). */
  #stop: AbortController | undefined;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sweeping: Promise<void> | undefined;
  /** Entries removed by this node's sweeps. */
  removed = 0;

  constructor(store: Store, options: RetentionSweepOptions, notify: (status: SegmentStatus) => void, logger: Logger) {
    this.#store = store;
    this.#options = options;
    this.#defaults = new Map(Object.entries(options.defaults));
    this.#notify = notify;
    this.#logger = logger;
    this.#schedule();
  }

  /** Runs one sweep now (after the one under way, if any). */
  async sweep(): Promise<void> {
    while (this.#sweeping !== undefined) await this.#sweeping;
    if (this.#stopped) return;
    this.#sweeping = this.#run().finally(() => (this.#sweeping = undefined));
    await this.#sweeping;
  }

  /** Stops the timer and waits for a sweep under way (it stops between segments). Idempotent. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#stop?.abort();
    clearTimeout(this.#timer);
    await this.#sweeping;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.sweep().finally(() => {
        if (!this.#stopped) this.#schedule();
      });
    }, this.#options.sweepIntervalMs);
    // A sweep timer alone must never keep a process alive.
    this.#timer.unref?.();
  }

  async #run(): Promise<void> {
    this.#stop ??= new AbortController();
    try {
      const result = await this.#store.enforceRetention({ defaults: this.#defaults, onTruncated: this.#notify, signal: this.#stop.signal });
      this.removed += result.entries;
      if (result.segments > 0) this.#logger.debug({ storeId: this.#store.storeId, ...result }, "retention sweep");
    } catch (error) {
      if (!this.#stopped) this.#logger.warn({ err: error, storeId: this.#store.storeId }, "retention sweep failed");
    }
  }
}
