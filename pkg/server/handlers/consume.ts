import { type ConsumeRequest, decodeOffsetOf } from "../../api/internal/index.js";
import { sendHistory } from "../live/follow.js";
import { followSpaces } from "../live/follow-space.js";
import { SpacesReadSource } from "./consume-spaces-source.js";
import type { HandlerContext } from "./context.js";
import { checkListLength } from "./limits.js";
import { readLimit, timeWindow } from "./read-options.js";

/**
 * `consume`: several spaces, each resumed after its space offset, merged by (timestamp, space).
 * Offsets are space offsets, interchangeable with consume_space's; `limit` applies to the merged total.
 *
 * With `follow`, live entries come after the history as the spaces commit. Each pass over the spaces
 * that changed merges what it finds by (timestamp, space), so every space stays in its commit order;
 * between spaces, an entry that became visible later may come after one of another space with a
 * later timestamp that was already sent.
 */
export async function handleConsume(request: ConsumeRequest, context: HandlerContext): Promise<void> {
  const spaces = Object.keys(request.offsets).length;
  checkListLength(spaces, "offsets", context.limits.maxSpacesPerConsume);
  // Each space costs the read its own position, scan and live watch for as long as the stream is open.
  const release = context.reserve(spaces * BYTES_PER_SPACE);
  try {
    await consume(request, context);
  } finally {
    release();
  }
}

/** Rough heap a consume holds per space it reads (measured near 3 KB with follow; docs/limits.md). */
export const BYTES_PER_SPACE = 4096;

async function consume(request: ConsumeRequest, context: HandlerContext): Promise<void> {
  const after = new Map(Object.entries(request.offsets).map(([space, offset]) => [space, decodeOffsetOf("space", offset, `offsets.${space}`)]));
  const source = new SpacesReadSource(context.store, after, timeWindow(request), readLimit(request));
  await (request.follow === true ? followSpaces(context, source, "consume") : sendHistory(context, source));
}
