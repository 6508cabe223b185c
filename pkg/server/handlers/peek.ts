import { type Entry, MessageTypes, type PeekRequest, segmentOffset } from "../../api/internal/index.js";
import type { HandlerContext } from "./context.js";
import { toEntry } from "./entries.js";

/** `peek`: the latest entry of a segment, or the placeholder of docs/design.md (Contracts) when it is empty. */
export async function handlePeek(request: PeekRequest, context: HandlerContext): Promise<void> {
  const stored = await context.store.peek(request.space, request.segment);
  const entry: Entry =
    stored === undefined
      ? { space: request.space, segment: request.segment, sequence: 0, timestamp: 0, payload: new Uint8Array(0), metadata: {}, offset: "" }
      : toEntry(stored, segmentOffset(stored.sequence, stored.position));
  await context.send({ $type: MessageTypes.entry, entry });
}
