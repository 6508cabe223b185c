import type { EntriesMessage } from "../../api/internal/index.js";
import type { StoredEntry } from "../../../store/types.js";

/** One segment's entries of a block, and their `entries` message with segment offsets once a segment follower asked. */
export interface SegmentPart {
  readonly entries: readonly StoredEntry[];
  /** Absent when the entries do not fit one message (they are then packed per follower). */
  readonly message?: EntriesMessage;
  readonly bytes?: Uint8Array;
}

/** Entries of one space, read from storage once and encoded once, for every follower to send. */
export interface TailBlock {
  /** The position the read resumed after: the block holds every entry of the space in (after, last]. */
  readonly after: number;
  /** Position of its last entry. */
  readonly last: number;
  readonly entries: readonly StoredEntry[];
  /** The `entries` message (space offsets), for observers. */
  readonly message: EntriesMessage;
  /** `message` encoded: the bytes every follower that takes the whole block sends. */
  readonly bytes: Uint8Array;
  /**
   * What the block counts against the window's byte limit: its encoded bytes and its entries, plus
   * the segment parts encoded for it later (TailWindow.grow).
   */
  size: number;
  /** Its entries by segment, and their encodings, made on first use by segment followers (segment-part.ts). */
  bySegment?: Map<string, StoredEntry[]>;
  parts?: Map<string, SegmentPart>;
}

/** Where a follower at some position stands against the window. */
export type WindowPlace =
  /** Its next entries are in (or will come to) the window; take blocks from this number on. */
  | { kind: "in"; block: number }
  /** The window has moved past it: read storage first. */
  | { kind: "behind" }
  /** It has seen entries the window has not read yet: wait for the window. */
  | { kind: "ahead" }
  /** The window has no position yet. */
  | { kind: "unanchored" };

/**
 * The recent entries of one space, as consecutive blocks, bounded in bytes: appending past the
 * limit drops the oldest blocks, so the window never holds more than `limit` bytes
 * (docs/configuration.md, `liveWindowBytes`). It covers the positions (from, head]: every entry the
 * space has in that range is in one of its blocks. Blocks are numbered in order of arrival, so a
 * follower keeps a number and finds its next block in constant time.
 */
export class TailWindow {
  readonly limit: number;
  /** Dropped blocks leave a hole until the array is compacted. */
  #blocks: (TailBlock | undefined)[] = [];
  /** Index in #blocks of the oldest kept block. */
  #start = 0;
  /** Number of the oldest kept block. */
  #firstNumber = 0;
  #from: number | undefined;
  #head: number | undefined;
  #bytes = 0;
  #highWater = 0;
  #evicted = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The position the window starts after; undefined until anchored. */
  get from(): number | undefined {
    return this.#from;
  }

  /** Position of the last entry read into the window; undefined until anchored. */
  get head(): number | undefined {
    return this.#head;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Most bytes ever held at once (never above `limit`). */
  get highWater(): number {
    return this.#highWater;
  }

  /** Blocks dropped to stay under the limit. */
  get evicted(): number {
    return this.#evicted;
  }

  get blockCount(): number {
    return this.#blocks.length - this.#start;
  }

  /** Number the next appended block gets. */
  get nextNumber(): number {
    return this.#firstNumber + this.blockCount;
  }

  /** Starts an empty window at `position` (the window then covers nothing before it). */
  anchor(position: number): void {
    this.#drop();
    this.#from = position;
    this.#head = position;
  }

  /** Forgets everything (a failed read): followers go back to storage, the next one anchors again. */
  reset(): void {
    this.#drop();
    this.#from = undefined;
    this.#head = undefined;
  }

  /**
   * Appends the block that follows `head`. Oldest blocks go first until it fits; a block larger than
   * the whole limit is not kept at all (the window then starts after it).
   */
  append(block: TailBlock): void {
    if (this.#head === undefined || block.after !== this.#head) throw new Error("tail window: block does not follow the head");
    this.#head = block.last;
    if (block.size > this.limit) {
      this.#drop();
      this.#firstNumber++; // its number is spent: whoever waited for it finds it evicted
      this.#from = block.last;
      return;
    }
    while (this.#bytes + block.size > this.limit) this.#evictOldest();
    this.#blocks.push(block);
    this.#bytes += block.size;
    if (this.#bytes > this.#highWater) this.#highWater = this.#bytes;
  }

  /**
   * Counts `bytes` more against block `number` (an encoding made for it after it came), dropping the
   * oldest blocks to stay under the limit; false when the block is no longer held.
   */
  grow(number: number, bytes: number): boolean {
    const block = this.block(number);
    if (block === undefined || block === "evicted") return false;
    block.size += bytes;
    this.#bytes += bytes;
    while (this.#bytes > this.limit && this.blockCount > 0) this.#evictOldest();
    if (this.#bytes > this.#highWater) this.#highWater = this.#bytes;
    return true;
  }

  /** Block `number`: "evicted" once dropped, undefined while not read yet. */
  block(number: number): TailBlock | "evicted" | undefined {
    if (number < this.#firstNumber) return "evicted";
    return this.#blocks[this.#start + number - this.#firstNumber];
  }

  /** Where a follower that has taken every entry up to `position` (and none after) stands. */
  place(position: number): WindowPlace {
    if (this.#from === undefined || this.#head === undefined) return { kind: "unanchored" };
    if (position < this.#from) return { kind: "behind" };
    if (position > this.#head) return { kind: "ahead" };
    // The first block holding an entry after `position`: blocks are in position order.
    let low = this.#start;
    let high = this.#blocks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#blocks[middle] as TailBlock).last > position) high = middle;
      else low = middle + 1;
    }
    return { kind: "in", block: this.#firstNumber + low - this.#start };
  }

  #evictOldest(): void {
    const oldest = this.#blocks[this.#start] as TailBlock;
    this.#blocks[this.#start] = undefined; // let it be collected now
    this.#start++;
    this.#firstNumber++;
    this.#evicted++;
    this.#bytes -= oldest.size;
    this.#from = oldest.last;
    // Compact now and then, so dropping stays O(1) amortized.
    if (this.#start >= 1024 && this.#start * 2 >= this.#blocks.length) {
      this.#blocks = this.#blocks.slice(this.#start);
      this.#start = 0;
    }
  }

  #drop(): void {
    this.#firstNumber += this.blockCount;
    this.#blocks = [];
    this.#start = 0;
    this.#bytes = 0;
  }
}
