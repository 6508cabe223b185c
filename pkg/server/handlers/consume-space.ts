import { type ConsumeSpaceRequest, decodeOffsetOf, spaceOffset } from "../../api/index.js";
import type { HandlerContext } from "./context.js";
import { sendEntries, withOffsets } from "./entries.js";
import { readBounds } from "./read-options.js";

/** `consume_space`: every segment of a space in commit order, resuming after the offset's position. */
export async function handleConsumeSpace(request: ConsumeSpaceRequest, context: HandlerContext): Promise<void> {
  const afterPosition = decodeOffsetOf("space", request.offset ?? "");
  const scan = context.store.readSpace({ space: request.space, afterPosition, ...readBounds(request) });
  await sendEntries(context, withOffsets(scan, (entry) => spaceOffset(entry.position)));
}
