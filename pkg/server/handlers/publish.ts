import { MessageTypes, type PublishRequest } from "../../api/index.js";
import { notifyCommitted } from "../live/notifications.js";
import type { HandlerContext } from "./context.js";
import { checkPayloadSize } from "./limits.js";

/** `publish`: one record at the segment's next sequence → one segment_status. */
export async function handlePublish(request: PublishRequest, context: HandlerContext): Promise<void> {
  checkPayloadSize(request.payload, "payload", context.limits);
  const status = await context.store.publish(request.space, request.segment, request.payload, request.metadata ?? undefined);
  notifyCommitted(context.bus, context.storeId, context.nodeId, status);
  await context.send({ $type: MessageTypes.segmentStatus, ...status });
}
