import { invalidArgument, type ReadBounds } from "../../api/index.js";
import { MAX_CONSUME_LIMIT } from "../options.js";

/** A read's limit: absent or 0 means no limit, and every limit is clamped to MAX_CONSUME_LIMIT. */
export function clampLimit(limit: number | undefined): number {
  return limit === undefined || limit === 0 ? MAX_CONSUME_LIMIT : Math.min(limit, MAX_CONSUME_LIMIT);
}

/** The read bounds handed to a store: limit clamped, follow refused until live reads exist. */
export function readBounds(request: ReadBounds): { minTimestamp?: number; maxTimestamp?: number; limit: number } {
  if (request.follow === true) throw invalidArgument("follow", "not supported by this server yet");
  const bounds: { minTimestamp?: number; maxTimestamp?: number; limit: number } = { limit: clampLimit(request.limit) };
  if (request.minTimestamp !== undefined && request.minTimestamp !== null) bounds.minTimestamp = request.minTimestamp;
  if (request.maxTimestamp !== undefined && request.maxTimestamp !== null) bounds.maxTimestamp = request.maxTimestamp;
  return bounds;
}
