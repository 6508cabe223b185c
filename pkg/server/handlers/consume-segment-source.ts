import { type SegmentStatus, StreamsError } from "../../api/index.js";
import type { SegmentRange, Store, StoredEntry } from "../../../store/types.js";
import type { ReadSource } from "../live/follow.js";
import type { TimeWindow } from "./read-options.js";
import { segmentChunks } from "./store-chunks.js";

export interface SegmentReadInit {
  space: string;
  segment: string;
  /** First sequence wanted (≥ 1). */
  fromSequence: number;
  /** Last sequence wanted; Infinity when unbounded. */
  maxSequence: number;
  time: TimeWindow;
  limit: number;
  /** A follow read: it ends with `not_found` once its segment is deleted or purged under it (docs/lifecycle.md). */
  follow: boolean;
  /** The entry a resume comes after (`fromSequence - 1`), with the commit position its offset carries. */
  after?: { sequence: number; position: number };
}

/**
 * A segment read that knows where it is: the next sequence to read and how many entries it may
 * still send. Timestamps never decrease along a segment, so the time window is applied here: the
 * entries before `min` are a prefix to skip (and never scan again), and the first entry past `max`
 * ends the read for good.
 */
export class SegmentReadSource implements ReadSource {
  readonly spaces: readonly string[];
  readonly space: string;
  readonly segment: string;
  /** Space position of the last entry taken or skipped; undefined until one was. */
  lastPosition: number | undefined;
  readonly offsets = "segment";
  readonly #store: Store;
  readonly #init: SegmentReadInit;
  #next: number;
  /** The read has a position: it started at a sequence, or has taken or skipped an entry. Until then it reads from the first kept entry. */
  #positioned: boolean;
  #remaining: number;
  #pastMaxTimestamp = false;
  /** The segment is closed and everything in it was read. */
  #ended = false;
  /** Timestamp of the newest entry taken (0: none yet), kept per chunk for the operator's follower lag. */
  #lastTimestamp = 0;

  constructor(store: Store, init: SegmentReadInit) {
    this.#store = store;
    this.#init = init;
    this.spaces = [init.space];
    this.space = init.space;
    this.segment = init.segment;
    this.#next = Math.max(init.fromSequence, 1);
    this.#positioned = init.fromSequence > 0;
    this.#remaining = init.limit;
    // The offset's entry counts as taken: what is checked against the segment from now on.
    if (init.after !== undefined && init.after.sequence === this.#next - 1) this.lastPosition = init.after.position;
  }

  get finished(): boolean {
    const { time, maxSequence } = this.#init;
    return this.#remaining <= 0 || this.#next > maxSequence || this.#pastMaxTimestamp || time.min > time.max || this.#ended;
  }

  /**
   * Whether a head of this segment means the live entries can no longer be trusted to follow on:
   * it was closed (read to its end, then stop) or truncated past the read (storage says out_of_range).
   */
  endsLive(status: SegmentStatus): boolean {
    return status.segment === this.#init.segment && (status.closed === true || status.firstSequence > this.#next);
  }

  /**
   * The error that ends a follow read once storage's head of its segment (`status`, or undefined:
   * none kept) shows the segment deleted, purged or lost under it: a tombstone, no head at all, or a
   * head behind what the read has taken, or resumes after from an offset with a position. Only a
   * read with a position can lose its segment; one from the start of a missing or deleted segment
   * waits for its first entry. A head at or past the read says nothing of a purge: the entries do
   * (`takeLive`, and `read`'s check of the entry it is after). A bus notification is no such proof
   * (see `deletedBy` and `behind`).
   */
  deletedUnder(status: SegmentStatus | undefined): StreamsError | undefined {
    if (!this.#init.follow || !this.#positioned) return undefined;
    if (status !== undefined && status.segment !== this.#init.segment) return undefined;
    const deleted = status === undefined ? undefined : this.deletedBy(status);
    if (deleted !== undefined) return deleted;
    // Without a head, or with one behind the read, the segment no longer has what the read took.
    if (this.lastPosition !== undefined && (status === undefined || status.lastSequence < this.#next - 1)) return this.#gone();
    return undefined;
  }

  /** The error that ends a follow read on a notified tombstone of its segment: the one notification that proves a delete. */
  deletedBy(status: SegmentStatus): StreamsError | undefined {
    if (!this.#init.follow || !this.#positioned || status.segment !== this.#init.segment || status.deleted !== true) return undefined;
    const { space, segment } = this.#init;
    return new StreamsError("not_found", `segment ${segment} of space ${space} was deleted while it was followed`);
  }

  /**
   * A notified head behind what the read has taken. Notifications run behind storage (a resume on
   * another instance than the one the offset came from hears older commits after it read newer
   * ones), so this only sends the follow back to storage, whose answer (`read`) decides.
   */
  behind(status: SegmentStatus): boolean {
    return this.#init.follow && this.#positioned && this.lastPosition !== undefined && status.segment === this.#init.segment && status.lastSequence < this.#next - 1;
  }

  /**
   * `not_found` for a read whose segment no longer has the entry it is after. It does not say why:
   * a delete or purge (written again or not), or a restart of a server on the memory store, whose
   * data and positions start again (docs/lifecycle.md); `detail` says how the read learned it.
   */
  #gone(detail?: string): StreamsError {
    const { space, segment } = this.#init;
    const at = this.lastPosition === undefined ? "" : ` at position ${this.lastPosition}`;
    const message = `segment ${segment} of space ${space} no longer has entry ${this.#next - 1}${at} (deleted, purged or lost)`;
    return new StreamsError("not_found", detail === undefined ? message : `${message}: ${detail}`);
  }

  /**
   * Checks that the entry the read is after (sequence `next - 1`) is still the one it took: the same
   * commit position. A purge lets the segment start again at 1 while its space's positions go on, so
   * an entry written since has a later position, or the segment no longer reaches that sequence
   * (docs/design.md, "Offsets"). Throws `not_found` when it is not; an entry removed by truncation or
   * a delete cannot be checked (the read itself then answers for the removed range).
   */
  async #checkAfter(): Promise<void> {
    const position = this.lastPosition;
    const sequence = this.#next - 1;
    if (position === undefined || !this.#positioned || sequence < 1) return;
    const { space, segment } = this.#init;
    let stored: StoredEntry | undefined;
    try {
      for await (const chunk of segmentChunks(this.#store, { space, segment, minSequence: sequence, maxSequence: sequence, limit: 1 })) {
        stored = chunk[0];
        break;
      }
    } catch (error) {
      if (error instanceof StreamsError && error.kind === "out_of_range") return;
      throw error;
    }
    if (stored === undefined || stored.sequence !== sequence) throw this.#gone();
    if (stored.position !== position) throw this.#gone(`its entry ${sequence} now has position ${stored.position} (written again)`);
  }

  /**
   * Takes live entries of this segment (in sequence order) that come after the read, applying the
   * bounds, the time window and the limit as a read would; `gap` when an entry is missing before
   * the next one (storage then answers for it). Throws `not_found` on an entry at or before the
   * read's sequence committed after the last one it took: the segment was purged and written again.
   * That check needs positions that rise with sequences along a segment, which only a store with
   * lifecycle keeps (PostgreSQL's "xid" ordering has neither): elsewhere storage reads decide.
   */
  takeLive(entries: readonly StoredEntry[]): { taken: StoredEntry[]; gap: boolean } {
    const { maxSequence, time } = this.#init;
    const checks = this.#store.features.lifecycle === true;
    const taken: StoredEntry[] = [];
    for (const stored of entries) {
      if (this.finished) break;
      if (stored.sequence < this.#next) {
        if (checks && this.lastPosition !== undefined && stored.position > this.lastPosition) throw this.#gone(`entry ${stored.sequence} was written again`);
        continue;
      }
      // A read from the start takes the first entry there is; after that, sequences are contiguous.
      if (stored.sequence > this.#next && this.#positioned) return { taken, gap: true };
      if (stored.sequence > maxSequence) {
        this.#next = stored.sequence;
        break;
      }
      if (stored.timestamp > time.max) {
        this.#pastMaxTimestamp = true;
        break;
      }
      this.#next = stored.sequence + 1;
      this.#positioned = true;
      this.lastPosition = stored.position;
      if (stored.timestamp < time.min) continue;
      taken.push(stored);
      this.#remaining--;
    }
    this.#took(taken);
    return { taken, gap: false };
  }

  /** Sequence of the last entry taken or skipped; 0 when none yet. */
  get position(): number {
    return this.#positioned ? this.#next - 1 : 0;
  }

  /** Timestamp of the newest entry taken; 0 when none yet. */
  get lastTimestamp(): number {
    return this.#lastTimestamp;
  }

  #took(entries: readonly StoredEntry[]): void {
    const last = entries.at(-1);
    if (last !== undefined) this.#lastTimestamp = last.timestamp;
  }

  async *read(): AsyncGenerator<StoredEntry[]> {
    if (this.finished) return;
    await this.#checkAfter();
    const { space, segment, maxSequence, time } = this.#init;
    // From the start, the store begins at the first kept entry; from a position, a removed one is out_of_range.
    const range: SegmentRange = { space, segment, minSequence: this.#positioned ? this.#next : 0 };
    if (Number.isFinite(maxSequence)) range.maxSequence = maxSequence;
    // With no prefix to skip, the store's count is the read's count.
    if (time.min === 0 && Number.isFinite(this.#remaining)) range.limit = this.#remaining;
    for await (const chunk of segmentChunks(this.#store, range)) {
      const taken: StoredEntry[] = [];
      for (const stored of chunk) {
        if (stored.timestamp > time.max) {
          this.#pastMaxTimestamp = true;
          break;
        }
        this.#next = stored.sequence + 1;
        this.#positioned = true;
        this.lastPosition = stored.position;
        if (stored.timestamp < time.min) continue;
        taken.push(stored);
        if (--this.#remaining <= 0) break;
      }
      this.#took(taken);
      if (taken.length > 0) yield taken;
      if (this.finished) return;
    }
    // A closed segment read to its end has nothing more to come: follow readers end here.
    const status = await this.#store.segmentStatus(space, segment);
    if (status?.closed === true && this.#next > status.lastSequence) this.#ended = true;
    const deleted = this.deletedUnder(status);
    if (deleted !== undefined) throw deleted;
  }
}
