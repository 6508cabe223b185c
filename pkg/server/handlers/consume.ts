import { type ConsumeRequest, decodeOffsetOf, spaceOffset } from "../../api/index.js";
import type { HandlerContext } from "./context.js";
import { sendEntries, withOffsets } from "./entries.js";
import { mergeByTimestamp } from "./merge.js";
import { readBounds } from "./read-options.js";

/**
 * `consume`: several spaces, each resumed after its space offset, merged by (timestamp, space).
 * Offsets are space offsets, interchangeable with consume_space's; `limit` applies to the merged total.
 */
export async function handleConsume(request: ConsumeRequest, context: HandlerContext): Promise<void> {
  const bounds = readBounds(request);
  const starts = Object.entries(request.offsets).map(([space, offset]) => ({
    space,
    afterPosition: decodeOffsetOf("space", offset, `offsets.${space}`),
  }));
  const scans = starts.map((start) => context.store.readSpace({ ...start, ...bounds }));
  await sendEntries(context, withOffsets(mergeByTimestamp(scans, bounds.limit), (entry) => spaceOffset(entry.position)));
}
