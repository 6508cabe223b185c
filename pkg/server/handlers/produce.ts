import { invalidArgument, MessageTypes, opName, type ProduceRequest, type RecordBatch } from "../../api/internal/index.js";
import type { ProduceChain } from "../../../store/types.js";
import { CommitQueue } from "./commit-queue.js";
import type { HandlerContext } from "./context.js";
import { checkClientMetadata, checkListLength, checkPayloadSize } from "./limits.js";
import { SendWindow } from "./send-window.js";

/** Statuses that may wait for a slow client while later batches are read and committed. */
const MAX_QUEUED_STATUSES = 8;
/** Batches of one stream committing at once when the store pipelines produce (they share group commits). */
const MAX_COMMITS_IN_FLIGHT = 8;

async function receiveBatch(context: HandlerContext): Promise<RecordBatch | undefined> {
  const message = await context.receive();
  if (message === undefined) return undefined;
  if (message.$type !== MessageTypes.recordBatch) {
    throw invalidArgument("$type", `expected record_batch on a produce stream, got '${opName(message.$type)}'`);
  }
  return message;
}

/** Checks a batch against the server's limits; returns its payload bytes. */
function checkBatch(batch: RecordBatch, context: HandlerContext): number {
  checkListLength(batch.records.length, "records", context.limits.maxRecordsPerBatch);
  let bytes = 0;
  batch.records.forEach((record, i) => {
    checkPayloadSize(record.payload, `records[${i}].payload`, context.limits);
    checkClientMetadata(record.metadata, `records[${i}].metadata`, context);
    bytes += record.payload.byteLength;
  });
  return bytes;
}

/**
 * `produce`: `{space, segment}`, then record batches, each committed atomically in order and
 * answered with one segment_status. The next batch is read while one commits, and statuses go out
 * without holding up reading, so pipelined batches flow. A store that declares `pipelinedProduce`
 * gets up to MAX_COMMITS_IN_FLIGHT batches at once, linked by one ProduceChain so none commits after
 * one that failed. Ends when the client half-closes; on an error the stream fails and earlier batches
 * stay committed (and are acknowledged first).
 */
export async function handleProduce(request: ProduceRequest, context: HandlerContext): Promise<void> {
  const sends = new SendWindow(MAX_QUEUED_STATUSES);
  const depth = context.store.features.pipelinedProduce === true ? MAX_COMMITS_IN_FLIGHT : 1;
  const commits = new CommitQueue(depth, (status) => sends.add(() => context.send({ $type: MessageTypes.segmentStatus, ...status })));
  const chain: ProduceChain = {};
  try {
    let next = receiveBatch(context);
    for (;;) {
      const batch = await next;
      if (batch === undefined) break;
      next = receiveBatch(context);
      next.catch(() => undefined); // awaited on the next turn; unobserved only if this batch fails
      const bytes = checkBatch(batch, context);
      // The batch stays in memory until it commits: charged to the connection meanwhile.
      const release = context.reserve(bytes);
      const commit = context.timeCommit(context.store.produce(request.space, request.segment, batch.records, chain));
      commit.then(
        (status) => {
          release();
          context.notifyCommitted(status);
        },
        release,
      );
      await commits.add(commit);
    }
    await commits.drain();
    await sends.drain();
  } catch (error) {
    await commits.settle();
    await sends.settle();
    throw error;
  }
}
