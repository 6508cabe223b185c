import type { SpaceRange, Store, StoredEntry } from "../../../store/types.js";
import type { ReadSource } from "../live/follow.js";
import { mergeByTimestamp } from "./merge.js";
import type { TimeWindow } from "./read-options.js";
import { spaceChunks } from "./store-chunks.js";

/**
 * A read of one or more spaces that knows where it is: the commit position last taken in each space
 * and how many entries it may still send. One read of several spaces merges them by (timestamp,
 * space), each in its commit order.
 *
 * Timestamps never decrease along a space's commit order, so the time window is applied here: the
 * entries before `min` are a prefix to skip (and never scan again), and the first entry past `max`
 * ends that space for good.
 */
export class SpacesReadSource implements ReadSource {
  readonly spaces: readonly string[];
  readonly offsets = "space";
  readonly #store: Store;
  readonly #time: TimeWindow;
  /** Commit position of the last entry taken (or skipped) per space; 0 = none. */
  readonly #after: Map<string, number>;
  /** Spaces whose entries have gone past maxTimestamp. */
  readonly #ended = new Set<string>();
  #remaining: number;
  /** Timestamp of the newest entry taken (0: none yet), kept per chunk for the operator's follower lag. */
  #lastTimestamp = 0;

  /** `after` maps each space to the position to resume after. */
  constructor(store: Store, after: ReadonlyMap<string, number>, time: TimeWindow, limit: number) {
    this.#store = store;
    this.#time = time;
    this.#after = new Map(after);
    this.spaces = [...after.keys()];
    this.#remaining = limit;
  }

  get finished(): boolean {
    return this.#remaining <= 0 || this.#ended.size === this.spaces.length || this.#time.min > this.#time.max;
  }

  async *read(spaces: readonly string[]): AsyncGenerator<StoredEntry[]> {
    if (this.finished) return;
    const scans = spaces.filter((space) => !this.#ended.has(space)).map((space) => this.#scan(space));
    // One space needs no merge: its scan is already in the read's order.
    const chunks = scans.length === 1 ? (scans[0] as AsyncGenerator<StoredEntry[]>) : mergeByTimestamp(scans, this.#remaining);
    for await (const chunk of chunks) {
      const taken = chunk.length > this.#remaining ? chunk.slice(0, this.#remaining) : chunk;
      // Positions advance only for entries taken: a merge reads ahead in each space.
      for (const stored of taken) this.#after.set(stored.space, stored.position);
      this.#remaining -= taken.length;
      // Merged by timestamp (one space: in commit order, timestamps not decreasing), so the last is the newest.
      this.#took(taken);
      yield taken;
      if (this.#remaining <= 0) return;
    }
  }

  /** Commit position of the last entry taken (or skipped) in `space`; 0 = none. */
  positionIn(space: string): number {
    return this.#after.get(space) ?? 0;
  }

  /**
   * Takes the live entries of `space` (in its commit order) that come after its position, applying
   * the time window and the limit as a read would; returns those to send.
   */
  takeLive(space: string, entries: readonly StoredEntry[]): StoredEntry[] {
    const kept: StoredEntry[] = [];
    let after = this.positionIn(space);
    for (const stored of entries) {
      if (this.finished || this.#ended.has(space)) break;
      if (stored.position <= after) continue;
      if (stored.timestamp > this.#time.max) {
        this.#ended.add(space);
        break;
      }
      after = stored.position;
      this.#after.set(space, after);
      if (stored.timestamp < this.#time.min) continue;
      kept.push(stored);
      this.#remaining--;
    }
    this.#took(kept);
    return kept;
  }

  /** Timestamp of the newest entry taken; 0 when none yet. */
  get lastTimestamp(): number {
    return this.#lastTimestamp;
  }

  #took(entries: readonly StoredEntry[]): void {
    const last = entries.at(-1);
    if (last !== undefined && last.timestamp > this.#lastTimestamp) this.#lastTimestamp = last.timestamp;
  }

  async *#scan(space: string): AsyncGenerator<StoredEntry[]> {
    const range: SpaceRange = { space, afterPosition: this.#after.get(space) ?? 0 };
    // With no prefix to skip, the store's count bounds the read's count.
    if (this.#time.min === 0 && Number.isFinite(this.#remaining)) range.limit = this.#remaining;
    for await (const chunk of spaceChunks(this.#store, range)) {
      const kept: StoredEntry[] = [];
      for (const stored of chunk) {
        if (stored.timestamp > this.#time.max) {
          this.#ended.add(space);
          break;
        }
        if (stored.timestamp < this.#time.min) {
          // Skipped entries all come before any entry taken from this scan, so moving past them is safe.
          this.#after.set(space, stored.position);
          continue;
        }
        kept.push(stored);
      }
      if (kept.length > 0) yield kept;
      if (this.#ended.has(space)) return;
    }
  }
}
