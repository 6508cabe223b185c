import type { Bus } from "../../../bus/types.js";
import type { Store } from "../../../store/types.js";
import type { Logger } from "../../api/logger.js";
import type { LiveRefreshes } from "./live-refreshes.js";
import { SpaceTail } from "./space-tail.js";

export interface LiveTailsOptions {
  storeId: string;
  store: Store;
  bus: Bus;
  refreshes: LiveRefreshes;
  logger: Logger;
  /** Byte limit of each space's window. */
  windowBytes: number;
}

/** What a space's tail holds, for status and tests. */
export interface LiveTailStats {
  space: string;
  followers: number;
  /** Bytes in the window now, the most it ever held, and its limit. */
  windowBytes: number;
  windowHighWater: number;
  windowLimit: number;
  blocks: number;
  evictedBlocks: number;
  /** Storage reads the tail made. */
  reads: number;
  /** Followers joining the window (first time or after falling behind), and falling out of it. */
  joins: number;
  fellBehind: number;
}

/**
 * A store's live tails on this node, summed (operator status and metrics): tails and followers now,
 * bytes in their windows now, and counters since the node opened (closed tails included).
 */
export interface LiveTailTotals {
  tails: number;
  followers: number;
  windowBytes: number;
  reads: number;
  joins: number;
  fellBehind: number;
}

/** A follower's hold on a space's tail; `release` once done with it. */
export interface TailLease {
  readonly tail: SpaceTail;
  release(): Promise<void>;
}

interface Held {
  tail: SpaceTail;
  opening: Promise<void>;
  followers: number;
}

/**
 * The live tails of one store on this node: one per space that has followers, opened by the first
 * and closed after the last (so an idle space holds nothing).
 */
export class LiveTails {
  readonly #options: LiveTailsOptions;
  readonly #tails = new Map<string, Held>();
  /** Counters of tails already closed, so the store's totals never go down. */
  readonly #closed = { reads: 0, joins: 0, fellBehind: 0 };

  constructor(options: LiveTailsOptions) {
    this.#options = options;
  }

  /** Joins the space's tail, opening it first if needed; rejects (`unavailable`) when the bus refuses. */
  async acquire(space: string): Promise<TailLease> {
    let held = this.#tails.get(space);
    if (held === undefined) {
      const tail = new SpaceTail({ ...this.#options, space });
      held = { tail, opening: tail.open(), followers: 0 };
      this.#tails.set(space, held);
    }
    held.followers++;
    const lease = { tail: held.tail, release: once(() => this.#release(space, held)) };
    try {
      await held.opening;
    } catch (error) {
      await lease.release();
      throw error;
    }
    return lease;
  }

  stats(): LiveTailStats[] {
    return [...this.#tails.values()].map(({ tail, followers }) => ({
      space: tail.space,
      followers,
      windowBytes: tail.window.bytes,
      windowHighWater: tail.window.highWater,
      windowLimit: tail.window.limit,
      blocks: tail.window.blockCount,
      evictedBlocks: tail.window.evicted,
      reads: tail.reads,
      joins: tail.joins,
      fellBehind: tail.fellBehind,
    }));
  }

  /** The commit position the space's tail has read through here; undefined when no tail or it is not anchored. */
  head(space: string): number | undefined {
    return this.#tails.get(space)?.tail.window.head;
  }

  totals(): LiveTailTotals {
    const totals: LiveTailTotals = { tails: this.#tails.size, followers: 0, windowBytes: 0, ...this.#closed };
    for (const { tail, followers } of this.#tails.values()) {
      totals.followers += followers;
      totals.windowBytes += tail.window.bytes;
      totals.reads += tail.reads;
      totals.joins += tail.joins;
      totals.fellBehind += tail.fellBehind;
    }
    return totals;
  }

  async close(): Promise<void> {
    const tails = [...this.#tails.values()];
    this.#tails.clear();
    await Promise.all(tails.map(({ tail }) => tail.close()));
  }

  async #release(space: string, held: Held): Promise<void> {
    if (--held.followers > 0) return;
    if (this.#tails.get(space) === held) this.#tails.delete(space);
    await held.opening.catch(() => undefined);
    await held.tail.close();
    this.#closed.reads += held.tail.reads;
    this.#closed.joins += held.tail.joins;
    this.#closed.fellBehind += held.tail.fellBehind;
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= run());
}
