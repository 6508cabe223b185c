import { type ConsumeSegmentRequest, decodeOffsetOf, segmentOffset } from "../../api/index.js";
import type { SegmentRange } from "../../../store/types.js";
import type { HandlerContext } from "./context.js";
import { sendEntries, withOffsets } from "./entries.js";
import { readBounds } from "./read-options.js";

/**
 * The first sequence a segment read starts at: `offset` (a segment offset) resumes after the entry it
 * names, and when `minSequence` is given too the later of the two applies. 0 means from the start.
 */
function startSequence(request: ConsumeSegmentRequest): number {
  const minSequence = request.minSequence ?? 0;
  const afterSequence = decodeOffsetOf("segment", request.offset ?? "");
  return afterSequence === 0 ? minSequence : Math.max(minSequence, afterSequence + 1);
}

/** `consume_segment`: a segment's entries in sequence order, within the request's bounds. */
export async function handleConsumeSegment(request: ConsumeSegmentRequest, context: HandlerContext): Promise<void> {
  const range: SegmentRange = { space: request.space, segment: request.segment, ...readBounds(request) };
  const minSequence = startSequence(request);
  if (minSequence > 0) range.minSequence = minSequence;
  if (request.maxSequence !== undefined && request.maxSequence !== null) range.maxSequence = request.maxSequence;
  const scan = context.store.readSegment(range);
  await sendEntries(context, withOffsets(scan, (entry) => segmentOffset(entry.sequence)));
}
