import {
  type CloseSegmentRequest,
  type DeleteSegmentRequest,
  type DeleteSpaceRequest,
  type DeleteStoreRequest,
  type GetRetentionRequest,
  MessageTypes,
  type SetRetentionRequest,
  type TruncateSegmentRequest,
} from "../../api/internal/index.js";
import type { HandlerContext } from "./context.js";

/*
 * Lifecycle operations (docs/lifecycle.md): each answers with one message. Every change of a
 * segment's head is notified like a commit, so status subscribers see it and follow readers re-read.
 */

/** `delete_segment` → its tombstone (`deleted: true`); with `purge`, the tombstone is forgotten too. */
export async function handleDeleteSegment(request: DeleteSegmentRequest, context: HandlerContext): Promise<void> {
  const status = await context.store.deleteSegment(request.space, request.segment, { purge: request.purge === true });
  context.notifyCommitted(status);
  await context.send({ $type: MessageTypes.segmentStatus, ...status });
}

/** `delete_space` → the tombstones of its segments. */
export async function handleDeleteSpace(request: DeleteSpaceRequest, context: HandlerContext): Promise<void> {
  const statuses = await context.store.deleteSpace(request.space, { purge: request.purge === true });
  for (const status of statuses) context.notifyCommitted(status);
  await context.send({ $type: MessageTypes.segmentStatuses, statuses });
}

/** `delete_store` → done, once the store's data is gone; the store's other streams end with `not_found`. */
export async function handleDeleteStore(_request: DeleteStoreRequest, context: HandlerContext): Promise<void> {
  await context.deleteStore();
  await context.send({ $type: MessageTypes.done });
}

/** `truncate_segment` → the segment's new head. */
export async function handleTruncateSegment(request: TruncateSegmentRequest, context: HandlerContext): Promise<void> {
  const status = await context.store.truncateSegment(request.space, request.segment, request.beforeSequence);
  context.notifyCommitted(status);
  await context.send({ $type: MessageTypes.segmentStatus, ...status });
}

/** `close_segment` → the segment's head, `closed: true`. */
export async function handleCloseSegment(request: CloseSegmentRequest, context: HandlerContext): Promise<void> {
  const status = await context.store.closeSegment(request.space, request.segment);
  context.notifyCommitted(status);
  await context.send({ $type: MessageTypes.segmentStatus, ...status });
}

/** `set_retention` → the retention now in force. */
export async function handleSetRetention(request: SetRetentionRequest, context: HandlerContext): Promise<void> {
  await context.store.setRetention(request.space, request.retention);
  const retention = await context.store.getRetention(request.space);
  await context.send({ $type: MessageTypes.retention, space: request.space, retention });
}

/** `get_retention` → the space's retention (`{}` when none). */
export async function handleGetRetention(request: GetRetentionRequest, context: HandlerContext): Promise<void> {
  const retention = await context.store.getRetention(request.space);
  await context.send({ $type: MessageTypes.retention, space: request.space, retention });
}
