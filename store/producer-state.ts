import type { Producer } from "../pkg/api/internal/index.js";
import { fingerprintOf, stampOf } from "./producer-stamps.js";
import type { StoredEntry } from "./types.js";

/** Acknowledgements kept per producer and segment; a retry of an older publish is looked up in the data. */
export const ACK_WINDOW = 256;

/** Where a stamped publish was stored, and the fingerprint of what was stored. */
export interface Ack {
  sequence: number;
  timestamp: number;
  fingerprint: number;
}

/** The stamp and acknowledgement of an entry, if it has a stamp. */
export function stampedAck(entry: Pick<StoredEntry, "sequence" | "timestamp" | "payload" | "metadata">): { stamp: Producer; ack: Ack } | undefined {
  const stamp = stampOf(entry.metadata);
  if (stamp === undefined) return undefined;
  return { stamp, ack: { sequence: entry.sequence, timestamp: entry.timestamp, fingerprint: fingerprintOf(entry.payload, entry.metadata) } };
}

/**
 * One producer's state in one segment, from its newest entry down to what is known: its epoch, its
 * latest sequence, and the acknowledgements of its publishes of that epoch within the entries read
 * (the newest ACK_WINDOW of them). Within an epoch a producer's sequences rise along the segment, so
 * a sequence below the oldest kept acknowledgement can only be found further back in the data.
 */
export class ProducerTrack {
  /** Acknowledgements by producer sequence, oldest first, at most ACK_WINDOW. */
  acks = new Map<number, Ack>();
  /** The newest entry applied, so entries read again never move the state back. */
  entry = 0;
  sequence = -1;

  constructor(public epoch: number) {}

  /** Applies an entry newer than every one applied; returns the change in acknowledgements kept. */
  applyNewer(epoch: number, sequence: number, ack: Ack): number {
    if (ack.sequence <= this.entry || epoch < this.epoch) return 0;
    const before = this.acks.size;
    this.entry = ack.sequence;
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.acks.clear();
      this.sequence = -1;
    }
    this.acks.set(sequence, ack);
    if (sequence > this.sequence) this.sequence = sequence;
    if (this.acks.size > ACK_WINDOW) this.acks.delete(this.acks.keys().next().value as number);
    return this.acks.size - before;
  }

  /** Adds acknowledgements of older entries (newest first), while the window has room; returns how many. */
  applyOlder(older: readonly [number, number, Ack][]): number {
    const room = ACK_WINDOW - this.acks.size;
    const kept: [number, Ack][] = [];
    for (const [epoch, sequence, ack] of older) {
      if (kept.length >= room) break;
      if (epoch === this.epoch && !this.acks.has(sequence)) kept.push([sequence, ack]);
    }
    if (kept.length === 0) return 0;
    this.acks = new Map([...kept.reverse(), ...this.acks]);
    return kept.length;
  }

  /** The oldest acknowledgement kept, if any. */
  get oldest(): [number, Ack] | undefined {
    return this.acks.entries().next().value;
  }
}

/**
 * What one segment's data says about its producers: the entries from `floor` to `scanned` have been
 * applied, those below `floor` not for every producer (read backwards, from the newest, only while a
 * producer is looked for, keeping only the producers looked for and those known). `incarnation` is the segment's as the store reported it with the head read (it changes when
 * the segment is purged and written again), so nothing read of an earlier one is used.
 */
export class SegmentProducers<Queued = unknown> {
  /** `tally`: the index's count, which every change of `size` moves along with it. */
  constructor(readonly tally: { size: number }) {
    tally.size += 1;
  }

  readonly producers = new Map<string, ProducerTrack>();
  incarnation: number | undefined;
  scanned = 0;
  floor = 1;
  /** What the index counts of this segment: itself, its producers and their acknowledgements. */
  size = 1;
  /** Stamped publishes waiting: one group at a time is stored (each reads what the one before wrote). */
  readonly queue: Queued[] = [];
  running = false;

  /** Starts again at a head: nothing below it is known yet. */
  reset(incarnation: number, last: number): void {
    this.producers.clear();
    this.incarnation = incarnation;
    this.scanned = last;
    this.floor = last + 1;
    this.#grow(1 - this.size);
  }

  /** Whether every kept entry was applied: a producer not known then has no entry here. */
  complete(firstKept: number): boolean {
    return this.floor <= firstKept;
  }

  /** Applies an entry after `scanned` (read forwards, or just written). */
  applyNewer(stamp: Producer, ack: Ack): void {
    let track = this.producers.get(stamp.id);
    if (track === undefined) {
      track = new ProducerTrack(stamp.epoch);
      this.producers.set(stamp.id, track);
      this.#grow(1);
    }
    this.#grow(track.applyNewer(stamp.epoch, stamp.sequence, ack));
  }

  /**
   * Applies a run of entries `from`..`to` below `floor`, newest first, read while looking for the
   * producers in `wanted`: only they (their newest entry here) and producers already known are kept,
   * so what a backward read keeps is bounded by what it looks for, not by the producers it passes.
   * `floor` goes down (to `from`) only while every producer passed since it is kept: below the newest
   * entry of one that is not, that producer is unknown, so a later look for it reads from there again.
   */
  applyOlder(entries: readonly { stamp: Producer; ack: Ack }[], from: number, to: number, wanted: ReadonlySet<string>): void {
    const older = new Map<string, [number, number, Ack][]>();
    // A run not right below `floor` (one passed above it was not kept) cannot lower it.
    let floor = to + 1 >= this.floor ? from : this.floor;
    let passed = false;
    for (const { stamp, ack } of entries) {
      const track = this.producers.get(stamp.id);
      if (track === undefined) {
        if (!wanted.has(stamp.id)) {
          if (!passed) floor = Math.max(floor, ack.sequence + 1);
          passed = true;
          continue;
        }
        // Its newest entry: nothing of it was above.
        const added = new ProducerTrack(stamp.epoch);
        added.applyNewer(stamp.epoch, stamp.sequence, ack);
        this.producers.set(stamp.id, added);
        this.#grow(2);
        continue;
      }
      let list = older.get(stamp.id);
      if (list === undefined) older.set(stamp.id, (list = []));
      list.push([stamp.epoch, stamp.sequence, ack]);
    }
    for (const [id, list] of older) this.#grow((this.producers.get(id) as ProducerTrack).applyOlder(list));
    this.floor = Math.min(this.floor, floor);
  }

  /** Takes this segment out of the index's count (it is dropped). */
  drop(): void {
    this.tally.size -= this.size;
    this.size = 0;
  }

  #grow(by: number): void {
    this.size += by;
    this.tally.size += by;
  }
}
