import { compareNames, type Record, type SegmentStatus, type StoreStatus } from "../pkg/api/index.js";
import { checkBatchSequences } from "./abstract-store.js";

/** The head of one segment. Sequences start at 1 and have no gaps, so the count is `lastSequence`. */
export interface SegmentHead {
  firstSequence: number;
  firstTimestamp: number;
  lastSequence: number;
  lastTimestamp: number;
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
}

/**
 * In-memory heads of a store: every segment's head, every space's last position and timestamp, and
 * the store-wide commit counter. `place` assigns a batch its positions, timestamp and commit number
 * and advances the heads synchronously, so callers that place batches in turn are serialized.
 */
export class Heads {
  readonly spaces = new Map<string, SpaceHead>();
  commitNumber = 0;

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
    const lastSequence = segmentHead?.lastSequence ?? 0;
    checkBatchSequences(lastSequence, records);
    const timestamp = Math.max(now, spaceHead?.lastTimestamp ?? 0);
    const count = records.length;
    const placement: BatchPlacement = {
      space,
      segment,
      firstSequence: lastSequence + 1,
      count,
      timestamp,
      firstPosition: (spaceHead?.lastPosition ?? 0) + 1,
      trxNumber: options?.sameCommit === true ? this.commitNumber : this.commitNumber + 1,
      status: {
        space,
        segment,
        firstSequence: segmentHead?.firstSequence ?? 1,
        firstTimestamp: segmentHead?.firstTimestamp ?? timestamp,
        lastSequence: lastSequence + count,
        lastTimestamp: timestamp,
      },
    };
    this.apply(placement);
    return placement;
  }

  /** Advances the heads to where a placed batch leaves them (a committed copy follows its pending one). */
  apply(placement: BatchPlacement): void {
    const { space, segment, status } = placement;
    const spaceHead = this.#space(space);
    spaceHead.lastPosition = placement.firstPosition + placement.count - 1;
    spaceHead.lastTimestamp = placement.timestamp;
    spaceHead.segments.set(segment, {
      firstSequence: status.firstSequence,
      firstTimestamp: status.firstTimestamp,
      lastSequence: status.lastSequence,
      lastTimestamp: status.lastTimestamp,
    });
    this.commitNumber = placement.trxNumber;
  }

  /** Sets one segment's head (recovery from stored meta). */
  setSegment(space: string, segment: string, head: SegmentHead): void {
    this.#space(space).segments.set(segment, head);
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

  segmentStatus(space: string, segment: string): SegmentStatus | undefined {
    const head = this.segmentHead(space, segment);
    return head === undefined ? undefined : { space, segment, ...head };
  }

  segmentStatuses(space: string): SegmentStatus[] {
    const segments = this.spaces.get(space)?.segments;
    if (segments === undefined) return [];
    return sortedKeys(segments).map((segment) => ({ space, segment, ...(segments.get(segment) as SegmentHead) }));
  }

  listSpaces(): string[] {
    return sortedKeys(this.spaces);
  }

  listSegments(space: string): string[] {
    const segments = this.spaces.get(space)?.segments;
    return segments === undefined ? [] : sortedKeys(segments);
  }

  status(storeId: string): StoreStatus {
    return {
      storeId,
      spaces: this.listSpaces().map((space) => {
        const head = this.spaces.get(space) as SpaceHead;
        let entryCount = 0;
        for (const segment of head.segments.values()) entryCount += segment.lastSequence - segment.firstSequence + 1;
        return { space, segmentCount: head.segments.size, entryCount, lastTimestamp: head.lastTimestamp };
      }),
    };
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
