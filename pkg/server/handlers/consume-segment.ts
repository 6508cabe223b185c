import { type ConsumeSegmentRequest, decodeOffsetOfKind } from "../../api/internal/index.js";
import { sendHistory } from "../live/follow.js";
import { followSegment } from "../live/follow-segment.js";
import { type SegmentReadInit, SegmentReadSource } from "./consume-segment-source.js";
import type { HandlerContext } from "./context.js";
import { readLimit, timeWindow } from "./read-options.js";

/**
 * Where a segment read starts: `offset` (a segment offset) resumes after the entry it names, and when
 * `minSequence` is given too the later of the two applies (sequence 0: from the start). When the
 * offset decides and carries the entry's commit position, the read checks that entry is still the one
 * it names (docs/design.md, "Offsets").
 */
function start(request: ConsumeSegmentRequest): Pick<SegmentReadInit, "fromSequence" | "after"> {
  const minSequence = request.minSequence ?? 0;
  const offset = decodeOffsetOfKind("segment", request.offset ?? "");
  const afterSequence = offset?.value ?? 0;
  if (afterSequence === 0 || minSequence > afterSequence + 1) return { fromSequence: minSequence };
  const position = offset?.position;
  return position === undefined ? { fromSequence: afterSequence + 1 } : { fromSequence: afterSequence + 1, after: { sequence: afterSequence, position } };
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
    ...start(request),
    maxSequence: maxSequence === 0 ? Number.POSITIVE_INFINITY : maxSequence,
    time: timeWindow(request),
    limit: readLimit(request),
    follow: request.follow === true,
  });
  await (request.follow === true ? followSegment(context, source) : sendHistory(context, source));
}
