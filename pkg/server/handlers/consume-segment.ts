import { type ConsumeSegmentRequest, decodeOffsetOf } from "../../api/internal/index.js";
import { sendHistory } from "../live/follow.js";
import { followSegment } from "../live/follow-segment.js";
import { SegmentReadSource } from "./consume-segment-source.js";
import type { HandlerContext } from "./context.js";
import { readLimit, timeWindow } from "./read-options.js";

/**
 * The first sequence a segment read starts at: `offset` (a segment offset) resumes after the entry it
 * names, and when `minSequence` is given too the later of the two applies. 0 means from the start.
 */
function startSequence(request: ConsumeSegmentRequest): number {
  const minSequence = request.minSequence ?? 0;
  const afterSequence = decodeOffsetOf("segment", request.offset ?? "");
  return afterSequence === 0 ? minSequence : Math.max(minSequence, afterSequence + 1);
}

/**
 * `consume_segment`: a segment's entries in sequence order, within the request's bounds; with
 * `follow`, then its live entries as they commit.
 */
export async function handleConsumeSegment(request: ConsumeSegmentRequest, context: HandlerContext): Promise<void> {
  const maxSequence = request.maxSequence ?? 0;
  const source = new SegmentReadSource(context.store, {
    space: request.space,
    segment: request.segment,
    fromSequence: startSequence(request),
    maxSequence: maxSequence === 0 ? Number.POSITIVE_INFINITY : maxSequence,
    time: timeWindow(request),
    limit: readLimit(request),
    follow: request.follow === true,
  });
  await (request.follow === true ? followSegment(context, source) : sendHistory(context, source));
}
