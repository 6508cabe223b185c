import { MessageTypes, type PublishRequest } from "../../api/internal/index.js";
import { isRepeatedAck } from "../../../store/producers.js";
import type { HandlerContext } from "./context.js";
import { checkClientMetadata, checkPayloadSize } from "./limits.js";
import { handlePublishLane } from "./publish-lane.js";

/** `publish`: one record at the segment's next sequence → one segment_status; with `lane`, a publish lane. */
export async function handlePublish(request: PublishRequest, context: HandlerContext): Promise<void> {
  if (request.lane === true) return handlePublishLane(request, context);
  checkPayloadSize(request.payload, "payload", context.limits);
  checkClientMetadata(request.metadata, "metadata", context);
  const status = await context.timeCommit(context.store.publish(request.space, request.segment, request.payload, request.metadata ?? undefined, request.producer ?? undefined));
  if (!isRepeatedAck(status)) context.notifyCommitted(status);
  await context.send({ $type: MessageTypes.segmentStatus, ...status });
}
