import type { ReadBounds } from "../../api/internal/index.js";
import { MAX_CONSUME_LIMIT } from "../options.js";

/** A read's limit: absent or 0 means no limit, and every limit is clamped to MAX_CONSUME_LIMIT. */
export function clampLimit(limit: number | undefined): number {
  return limit === undefined || limit === 0 ? MAX_CONSUME_LIMIT : Math.min(limit, MAX_CONSUME_LIMIT);
}

/**
 * Entries a read sends at most. A follow without a limit runs until cancelled (the clamp bounds how
 * much one request can ask for, and a follow asks only for what gets committed); a given limit is clamped.
 */
export function readLimit(request: ReadBounds): number {
  const unlimited = request.limit === undefined || request.limit === null || request.limit === 0;
  return unlimited && request.follow === true ? Number.POSITIVE_INFINITY : clampLimit(request.limit ?? undefined);
}

/** A read's timestamp bounds, inclusive; `max` is Infinity when unbounded. */
export interface TimeWindow {
  readonly min: number;
  readonly max: number;
}

export function timeWindow(request: ReadBounds): TimeWindow {
  const min = request.minTimestamp ?? 0;
  const max = request.maxTimestamp === undefined || request.maxTimestamp === null || request.maxTimestamp === 0 ? Number.POSITIVE_INFINITY : request.maxTimestamp;
  return { min, max };
}
