import { compareNames, failedPrecondition, type Record, type SegmentStatus, type StoreStatus } from "../pkg/api/internal/index.js";
import { checkBatchSequences } from "./abstract-store.js";

/**
 * The head of one segment. Sequences start at 1 and have no gaps; entries below `firstSequence` were
 * removed (docs/lifecycle.md), so the segment keeps `lastSequence - firstSequence + 1` entries, none
 * when `firstSequence` is past `lastSequence`.
 */
export interface SegmentHead {
  firstSequence: number;
  firstTimestamp: number;
  lastSequence: number;
  lastTimestamp: number;
  /** Commit position of the first kept entry in its space (meaningless when none is kept). */
  firstPosition: number;
  closed?: boolean;
  /** A tombstone: hidden from listings, kept so sequences are never reused. */
  deleted?: boolean;
}

/** Whether a head keeps any entry. */
export const keepsEntries = (head: SegmentHead): boolean => head.firstSequence <= head.lastSequence;

/** The status a head reports: lifecycle flags only when set. */
export function statusOf(space: string, segment: string, head: SegmentHead): SegmentStatus {
  const status: SegmentStatus = {
    space,
    segment,
    firstSequence: head.firstSequence,
    firstTimestamp: head.firstTimestamp,
    lastSequence: head.lastSequence,
    lastTimestamp: head.lastTimestamp,
  };
  if (head.closed === true) status.closed = true;
  if (head.deleted === true) status.deleted = true;
  return status;
}

/** The head of one space: its last commit position and timestamp, and its segments' heads. */
export interface SpaceHead {
  lastPosition: number;
  lastTimestamp: number;
  segments: Map<string, SegmentHead>;
}

/** Where one batch lands: what a backend writes, and the segment's head once it is committed. */
export interface BatchPlacement {
  space: string;
  segment: string;
  /** Sequence of the batch's first record; the rest follow contiguously. */
  firstSequence: number;
  count: number;
  timestamp: number;
  /** Commit position of the batch's first entry in its space; the rest follow contiguously. */
  firstPosition: number;
  trxNumber: number;
  status: SegmentStatus;
  /** The segment's head once the batch is committed. */
  head: SegmentHead;
}

/** Incarnations are unique in the process, so heads rebuilt or shared never repeat one. */
let lastIncarnation = 0;

/**
 * In-memory heads of a store: every segment's head, every space's last position and timestamp, and
 * the store-wide commit counter. `place` assigns a batch its positions, timestamp and commit number
 * and advances the heads synchronously, so callers that place batches in turn are serialized.
 */
export class Heads {
  readonly spaces = new Map<string, SpaceHead>();
  commitNumber = 0;
  /** Each space's first kept position, once computed; forgotten when a lifecycle change touches the space. */
  readonly #firstPositions = new Map<string, number>();
  /** Per space, the incarnation of each segment asked for (`incarnation`); a purge forgets it. */
  readonly #incarnations = new Map<string, Map<string, number>>();

  segmentHead(space: string, segment: string): SegmentHead | undefined {
    return this.spaces.get(space)?.segments.get(segment);
  }

  /** The sequence a publish to this segment gets. */
  nextSequence(space: string, segment: string): number {
    return (this.segmentHead(space, segment)?.lastSequence ?? 0) + 1;
  }

  /**
   * Checks a batch against the segment's head (throws `sequence_conflict`, nothing changed), then
   * assigns it the next positions of its space, a timestamp `max(now, space's last)` and the next
   * commit number (with `sameCommit`, the last one: the batch joins the commit placed before it),
   * and advances the heads.
   */
  place(space: string, segment: string, records: readonly Record[], now: number, options?: { sameCommit: boolean }): BatchPlacement {
    const spaceHead = this.spaces.get(space);
    const segmentHead = spaceHead?.segments.get(segment);
    if (segmentHead?.closed === true) throw failedPrecondition(`segment ${segment} of space ${space} is closed`);
    const lastSequence = segmentHead?.lastSequence ?? 0;
    checkBatchSequences(lastSequence, records);
    const timestamp = Math.max(now, spaceHead?.lastTimestamp ?? 0);
    const count = records.length;
    const firstPosition = (spaceHead?.lastPosition ?? 0) + 1;
    // A segment that keeps no entry (new, emptied or deleted) starts again at this batch.
    const kept = segmentHead !== undefined && keepsEntries(segmentHead);
    const head: SegmentHead = {
      firstSequence: kept ? segmentHead.firstSequence : lastSequence + 1,
      firstTimestamp: kept ? segmentHead.firstTimestamp : timestamp,
      lastSequence: lastSequence + count,
      lastTimestamp: timestamp,
      firstPosition: kept ? segmentHead.firstPosition : firstPosition,
    };
    const placement: BatchPlacement = {
      space,
      segment,
      firstSequence: lastSequence + 1,
      count,
      timestamp,
      firstPosition,
      trxNumber: options?.sameCommit === true ? this.commitNumber : this.commitNumber + 1,
      status: statusOf(space, segment, head),
      head,
    };
    this.apply(placement);
    return placement;
  }

  /** Advances the heads to where a placed batch leaves them (a committed copy follows its pending one). */
  apply(placement: BatchPlacement): void {
    const { space, segment } = placement;
    const spaceHead = this.#space(space);
    spaceHead.lastPosition = placement.firstPosition + placement.count - 1;
    spaceHead.lastTimestamp = placement.timestamp;
    // A batch never moves a space's first kept position: it lands after every position there is.
    spaceHead.segments.set(segment, { ...placement.head });
    this.commitNumber = placement.trxNumber;
  }

  /** Sets one segment's head (recovery from stored meta, and lifecycle changes). */
  setSegment(space: string, segment: string, head: SegmentHead): void {
    this.#space(space).segments.set(segment, head);
    this.#firstPositions.delete(space);
  }

  /** Forgets one segment, tombstone and all (a hard purge): its sequences start at 1 again. */
  removeSegment(space: string, segment: string): void {
    this.spaces.get(space)?.segments.delete(segment);
    this.#firstPositions.delete(space);
    this.#incarnations.get(space)?.delete(segment);
  }

  /** Forgets a space and its segments (the store is being emptied). */
  clear(): void {
    this.spaces.clear();
    this.#firstPositions.clear();
    this.#incarnations.clear();
    this.commitNumber = 0;
  }

  /**
   * A number that stays the same for a segment until it is purged (removeSegment) and differs after:
   * what the producer index ties its state of the segment to (docs/design.md, Idempotent publish).
   */
  incarnation(space: string, segment: string): number {
    let segments = this.#incarnations.get(space);
    if (segments === undefined) this.#incarnations.set(space, (segments = new Map<string, number>()));
    let incarnation = segments.get(segment);
    if (incarnation === undefined) segments.set(segment, (incarnation = ++lastIncarnation));
    return incarnation;
  }

  /**
   * Commit position of the first entry a space keeps; past its last position when it keeps none.
   * Entries before it were removed, so a space read resuming before it would skip them.
   */
  firstPosition(space: string): number {
    const spaceHead = this.spaces.get(space);
    if (spaceHead === undefined) return 1;
    let first = this.#firstPositions.get(space);
    if (first === undefined) {
      first = spaceHead.lastPosition + 1;
      for (const head of spaceHead.segments.values()) if (keepsEntries(head) && head.firstPosition < first) first = head.firstPosition;
      this.#firstPositions.set(space, first);
    }
    return first;
  }

  /** Sets one space's last position and timestamp (recovery from stored meta). */
  setSpace(space: string, lastPosition: number, lastTimestamp: number): void {
    const spaceHead = this.#space(space);
    spaceHead.lastPosition = lastPosition;
    spaceHead.lastTimestamp = lastTimestamp;
  }

  clone(): Heads {
    const copy = new Heads();
    copy.commitNumber = this.commitNumber;
    for (const [space, head] of this.spaces) {
      const segments = new Map<string, SegmentHead>();
      for (const [segment, segmentHead] of head.segments) segments.set(segment, { ...segmentHead });
      copy.spaces.set(space, { lastPosition: head.lastPosition, lastTimestamp: head.lastTimestamp, segments });
    }
    return copy;
  }

  /** A segment's status; a deleted segment's is its tombstone (`deleted: true`). */
  segmentStatus(space: string, segment: string): SegmentStatus | undefined {
    const head = this.segmentHead(space, segment);
    return head === undefined ? undefined : statusOf(space, segment, head);
  }

  /** Statuses of a space's segments, deleted ones left out. */
  segmentStatuses(space: string): SegmentStatus[] {
    const segments = this.spaces.get(space)?.segments;
    if (segments === undefined) return [];
    return this.listSegments(space).map((segment) => statusOf(space, segment, segments.get(segment) as SegmentHead));
  }

  /** Spaces with at least one segment that is not deleted. */
  listSpaces(): string[] {
    return sortedKeys(this.spaces).filter((space) => this.listSegments(space).length > 0);
  }

  listSegments(space: string): string[] {
    const segments = this.spaces.get(space)?.segments;
    if (segments === undefined) return [];
    return sortedKeys(segments).filter((segment) => segments.get(segment)?.deleted !== true);
  }

  status(storeId: string): StoreStatus {
    return {
      storeId,
      spaces: this.listSpaces().map((space) => {
        const head = this.spaces.get(space) as SpaceHead;
        let entryCount = 0;
        let segmentCount = 0;
        for (const segment of head.segments.values()) {
          if (segment.deleted === true) continue;
          segmentCount++;
          entryCount += Math.max(segment.lastSequence - segment.firstSequence + 1, 0);
        }
        return { space, segmentCount, entryCount, lastTimestamp: head.lastTimestamp };
      }),
    };
  }

  /** Kept entries of the whole store. */
  entryCount(): number {
    let count = 0;
    for (const space of this.spaces.values()) {
      for (const segment of space.segments.values()) count += Math.max(segment.lastSequence - segment.firstSequence + 1, 0);
    }
    return count;
  }

  #space(space: string): SpaceHead {
    let head = this.spaces.get(space);
    if (head === undefined) {
      head = { lastPosition: 0, lastTimestamp: 0, segments: new Map() };
      this.spaces.set(space, head);
    }
    return head;
  }
}

function sortedKeys(map: Map<string, unknown>): string[] {
  return [...map.keys()].sort(compareNames);
}
