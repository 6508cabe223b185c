import { invalidArgument, type Message, MessageTypes, opName } from "../../api/internal/index.js";
import { handleConsume } from "./consume.js";
import { handleConsumeSegment } from "./consume-segment.js";
import { handleConsumeSpace } from "./consume-space.js";
import type { HandlerContext } from "./context.js";
import { handleGetSegments } from "./get-segments.js";
import { handleGetSpaces } from "./get-spaces.js";
import { handleGetStatus } from "./get-status.js";
import { handleLease } from "./lease.js";
import {
  handleCloseSegment,
  handleDeleteSegment,
  handleDeleteSpace,
  handleDeleteStore,
  handleGetRetention,
  handleSetRetention,
  handleTruncateSegment,
} from "./lifecycle.js";
import { handlePeek } from "./peek.js";
import { handleProduce } from "./produce.js";
import { handlePublish } from "./publish.js";
import { handleSubscribeToSegmentStatus } from "./subscribe-status.js";
import { handleSubscribeWorkers } from "./subscribe-workers.js";

export type { HandlerContext } from "./context.js";

/** Runs the handler of a stream's first message until the operation is done. */
export async function dispatch(request: Message, context: HandlerContext): Promise<void> {
  switch (request.$type) {
    case MessageTypes.produce:
      return handleProduce(request, context);
    case MessageTypes.publish:
      return handlePublish(request, context);
    case MessageTypes.consumeSegment:
      return handleConsumeSegment(request, context);
    case MessageTypes.consumeSpace:
      return handleConsumeSpace(request, context);
    case MessageTypes.consume:
      return handleConsume(request, context);
    case MessageTypes.peek:
      return handlePeek(request, context);
    case MessageTypes.getSpaces:
      return handleGetSpaces(request, context);
    case MessageTypes.getSegments:
      return handleGetSegments(request, context);
    case MessageTypes.getStatus:
      return handleGetStatus(request, context);
    case MessageTypes.subscribeToSegmentStatus:
      return handleSubscribeToSegmentStatus(request, context);
    case MessageTypes.leaseAcquire:
    case MessageTypes.leaseRenew:
    case MessageTypes.leaseRelease:
      return handleLease(request, context);
    case MessageTypes.subscribeWorkers:
      return handleSubscribeWorkers(request, context);
    case MessageTypes.deleteSegment:
      return handleDeleteSegment(request, context);
    case MessageTypes.deleteSpace:
      return handleDeleteSpace(request, context);
    case MessageTypes.deleteStore:
      return handleDeleteStore(request, context);
    case MessageTypes.truncateSegment:
      return handleTruncateSegment(request, context);
    case MessageTypes.closeSegment:
      return handleCloseSegment(request, context);
    case MessageTypes.setRetention:
      return handleSetRetention(request, context);
    case MessageTypes.getRetention:
      return handleGetRetention(request, context);
    default:
      throw invalidArgument("$type", `'${opName(request.$type)}' cannot open a stream`);
  }
}
