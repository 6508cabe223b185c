import { invalidArgument, MessageTypes, opName, type ProduceRequest, type RecordBatch } from "../../api/index.js";
import { notifyCommitted } from "../live/notifications.js";
import type { HandlerContext } from "./context.js";
import { checkPayloadSize } from "./limits.js";
import { SendWindow } from "./send-window.js";

/** Statuses that may wait for a slow client while later batches are read and committed. */
const MAX_QUEUED_STATUSES = 8;

async function receiveBatch(context: HandlerContext): Promise<RecordBatch | undefined> {
  const message = await context.receive();
  if (message === undefined) return undefined;
  if (message.$type !== MessageTypes.recordBatch) {
    throw invalidArgument("$type", `expected record_batch on a produce stream, got '${opName(message.$type)}'`);
  }
  return message;
}

/**
 * `produce`: `{space, segment}`, then record batches, each committed atomically in order and
 * answered with one segment_status. The next batch is read while one commits, and statuses go out
 * without holding up reading, so pipelined batches flow. Ends when the client half-closes; on an
 * error the stream fails and earlier batches stay committed.
 */
export async function handleProduce(request: ProduceRequest, context: HandlerContext): Promise<void> {
  const sends = new SendWindow(MAX_QUEUED_STATUSES);
  try {
    let next = receiveBatch(context);
    for (;;) {
      const batch = await next;
      if (batch === undefined) break;
      next = receiveBatch(context);
      next.catch(() => undefined); // awaited on the next turn; unobserved only if this batch fails
      batch.records.forEach((record, i) => checkPayloadSize(record.payload, `records[${i}].payload`, context.limits));
      const status = await context.store.produce(request.space, request.segment, batch.records);
      notifyCommitted(context.bus, context.storeId, context.nodeId, status);
      await sends.add(() => context.send({ $type: MessageTypes.segmentStatus, ...status }));
    }
    await sends.drain();
  } catch (error) {
    await sends.settle();
    throw error;
  }
}
