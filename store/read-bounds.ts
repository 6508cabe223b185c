import { invalidArgument } from "../pkg/api/internal/index.js";
import type { SegmentRange, SpaceRange } from "./types.js";

/** Bounds of a read with every default filled in: inclusive, unbounded ends at the extremes. */
export interface TimeBounds {
  minTimestamp: number;
  maxTimestamp: number;
  /** Entries to return at most; Infinity when unlimited. */
  limit: number;
  /** The range is inverted: the read returns nothing without touching storage. */
  empty: boolean;
}

export interface SegmentBounds extends TimeBounds {
  minSequence: number;
  maxSequence: number;
}

export interface SpaceBounds extends TimeBounds {
  afterPosition: number;
}

/** Resolves a segment read's bounds (0 or absent = unbounded). Throws `invalid_argument` naming a bad bound. */
export function segmentBounds(range: SegmentRange): SegmentBounds {
  const time = timeBounds(range);
  const minSequence = Math.max(bound(range.minSequence, "minSequence"), 1);
  const maxSequence = bound(range.maxSequence, "maxSequence") || Number.MAX_SAFE_INTEGER;
  return { ...time, minSequence, maxSequence, empty: time.empty || minSequence > maxSequence };
}

/** Resolves a space read's bounds (0 or absent = unbounded). Throws `invalid_argument` naming a bad bound. */
export function spaceBounds(range: SpaceRange): SpaceBounds {
  const time = timeBounds(range);
  const afterPosition = bound(range.afterPosition, "afterPosition");
  return { ...time, afterPosition, empty: time.empty || afterPosition >= Number.MAX_SAFE_INTEGER };
}

function timeBounds(range: SegmentRange | SpaceRange): TimeBounds {
  const minTimestamp = bound(range.minTimestamp, "minTimestamp");
  const maxTimestamp = bound(range.maxTimestamp, "maxTimestamp") || Number.MAX_SAFE_INTEGER;
  const limit = bound(range.limit, "limit") || Number.POSITIVE_INFINITY;
  return { minTimestamp, maxTimestamp, limit, empty: minTimestamp > maxTimestamp };
}

function bound(value: number | undefined, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw invalidArgument(field, "must be an integer");
  if (value < 0) throw invalidArgument(field, "must not be negative");
  return value;
}
