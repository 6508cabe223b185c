import { type ConsumeSpaceRequest, decodeOffsetOf } from "../../api/internal/index.js";
import { sendHistory } from "../live/follow.js";
import { followSpaces } from "../live/follow-space.js";
import { SpacesReadSource } from "./consume-spaces-source.js";
import type { HandlerContext } from "./context.js";
import { readLimit, timeWindow } from "./read-options.js";

/**
 * `consume_space`: every segment of a space in commit order, resuming after the offset's position;
 * with `follow`, then its live entries in commit order as they commit, from the space's shared live tail.
 */
export async function handleConsumeSpace(request: ConsumeSpaceRequest, context: HandlerContext): Promise<void> {
  const after = new Map([[request.space, decodeOffsetOf("space", request.offset ?? "")]]);
  const source = new SpacesReadSource(context.store, after, timeWindow(request), readLimit(request));
  await (request.follow === true ? followSpaces(context, source) : sendHistory(context, source));
}
