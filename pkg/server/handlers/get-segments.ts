import { type GetSegmentsRequest, MessageTypes } from "../../api/internal/index.js";
import type { HandlerContext } from "./context.js";

/** `get_segments` → names of a space's segments, sorted. */
export async function handleGetSegments(request: GetSegmentsRequest, context: HandlerContext): Promise<void> {
  await context.send({ $type: MessageTypes.names, names: await context.store.listSegments(request.space) });
}
