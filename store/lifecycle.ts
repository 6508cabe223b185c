import { outOfRange, type Retention, type SegmentStatus, spaceOffset, type StreamsError } from "../pkg/api/internal/index.js";
import { keepsEntries, type SegmentHead } from "./heads.js";
import type { Store } from "./types.js";

/**
 * Lifecycle changes of a segment head (docs/lifecycle.md), shared by the backends that keep heads.
 * Each returns the head after the change; sequences only ever move up.
 */

/** A segment read reached `sequence`, removed: the first kept is `firstSequence`. */
export function segmentOutOfRange(space: string, segment: string, sequence: number, firstSequence: number): StreamsError {
  return outOfRange(`sequence ${sequence} of ${space}/${segment} was removed; the first kept is ${firstSequence}`, { firstSequence });
}

/** A space read resumed before its first kept position, `firstPosition`. */
export function spaceOutOfRange(space: string, firstPosition: number): StreamsError {
  return outOfRange(`entries of space ${space} after the offset were removed`, { firstOffset: spaceOffset(firstPosition - 1) });
}

/** Where the entry a truncation keeps first lies: its timestamp and commit position. */
export interface EntryPlace {
  timestamp: number;
  position: number;
}

/** The head with entries below `beforeSequence` removed; `place` locates the new first entry when one is kept. */
export function truncatedHead(head: SegmentHead, beforeSequence: number, place: (sequence: number) => EntryPlace): SegmentHead {
  const first = Math.min(Math.max(beforeSequence, head.firstSequence), head.lastSequence + 1);
  if (first === head.firstSequence) return head;
  if (first > head.lastSequence) return { ...head, firstSequence: first, firstTimestamp: head.lastTimestamp, firstPosition: 0 };
  const { timestamp, position } = place(first);
  return { ...head, firstSequence: first, firstTimestamp: timestamp, firstPosition: position };
}

/** A tombstone: no entry kept, hidden from listings, the sequences kept. */
export function deletedHead(head: SegmentHead): SegmentHead {
  return {
    firstSequence: head.lastSequence + 1,
    firstTimestamp: head.lastTimestamp,
    lastSequence: head.lastSequence,
    lastTimestamp: head.lastTimestamp,
    firstPosition: 0,
    deleted: true,
  };
}

export function closedHead(head: SegmentHead): SegmentHead {
  return head.closed === true ? head : { ...head, closed: true };
}

/** Whether a head keeps entries below `sequence` that a truncation would remove. */
export const removesEntries = (head: SegmentHead, sequence: number): boolean => keepsEntries(head) && sequence > head.firstSequence;

/**
 * The sequence a retention keeps a segment from, as of `now` (entries below it go): the latest of
 * what its age, count and byte bounds allow. Reads the segment only for the bounds that need it.
 */
export async function retentionStart(store: Store, status: SegmentStatus, retention: Retention, now: number): Promise<number> {
  const { space, segment, firstSequence, lastSequence } = status;
  if (firstSequence > lastSequence) return firstSequence;
  let start = firstSequence;
  if (retention.maxEntriesPerSegment !== undefined) start = Math.max(start, lastSequence - retention.maxEntriesPerSegment + 1);
  if (retention.maxAgeMs !== undefined) {
    const cutoff = now - retention.maxAgeMs;
    if (status.lastTimestamp < cutoff) return lastSequence + 1;
    if (status.firstTimestamp < cutoff && start <= lastSequence) {
      // The first entry at or after the cutoff: timestamps never decrease along a segment.
      for await (const entry of store.readSegment({ space, segment, minSequence: start, minTimestamp: cutoff, limit: 1 })) {
        start = Math.max(start, entry.sequence);
      }
    }
  }
  if (retention.maxBytesPerSegment !== undefined && start <= lastSequence) start = await byteBoundStart(store, space, segment, start, retention.maxBytesPerSegment);
  return start;
}

/** The first sequence from which the segment's payloads (from `from` on) fit in `maxBytes`. */
async function byteBoundStart(store: Store, space: string, segment: string, from: number, maxBytes: number): Promise<number> {
  const sizes: number[] = [];
  let total = 0;
  let last = from - 1;
  for await (const entry of store.readSegment({ space, segment, minSequence: from })) {
    sizes.push(entry.payload.byteLength);
    total += entry.payload.byteLength;
    last = entry.sequence;
  }
  let start = last - sizes.length + 1;
  for (let i = 0; i < sizes.length && total > maxBytes; i++) {
    total -= sizes[i] as number;
    start++;
  }
  return start;
}
