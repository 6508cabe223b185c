import { type GetSpacesRequest, MessageTypes } from "../../api/internal/index.js";
import type { HandlerContext } from "./context.js";

/** `get_spaces` → names, sorted. */
export async function handleGetSpaces(_request: GetSpacesRequest, context: HandlerContext): Promise<void> {
  await context.send({ $type: MessageTypes.names, names: await context.store.listSpaces() });
}
