import {
  checkPublishItem,
  invalidArgument,
  type Message,
  MessageTypes,
  opName,
  type PublishItem,
  type PublishRequest,
  type PublishResult,
  type SegmentStatus,
  StreamsError,
  uncheckedPayloadBytes,
} from "../../api/internal/index.js";
import { forClient } from "../conceal.js";
import { isRepeatedAck } from "../../../store/producers.js";
import { LaneAnswers } from "./lane-answers.js";
import type { HandlerContext } from "./context.js";
import { checkClientMetadata, checkPayloadSize } from "./limits.js";

/**
 * A lane reads no further message while this many publishes, or payload bytes, wait for their
 * answer (committing together, they share the store's group commits); a message read then adds at
 * most one batch more.
 */
const MAX_PUBLISHES_IN_FLIGHT = 512;
const MAX_BYTES_IN_FLIGHT = 32 * 1024 * 1024;

/**
 * A publish lane (`publish` with `lane: true`): the first publish and every publish after it (a
 * `publish`, or several in a `publish_batch`) are committed concurrently and answered in order by
 * publish_results (LaneAnswers); a publish that fails fails alone, a message the lane cannot take is
 * answered by a publish_error. Ends when the client half-closes; the stream fails only when it breaks
 * (cancel, dropped connection, node closing).
 */
export async function handlePublishLane(first: PublishRequest, context: HandlerContext): Promise<void> {
  const answers = new LaneAnswers({ publishes: MAX_PUBLISHES_IN_FLIGHT, bytes: MAX_BYTES_IN_FLIGHT }, (answer) => context.send(answer));
  try {
    answers.add(resultOf(first, context), first.payload.byteLength);
    for (;;) {
      await answers.room();
      const message = await receiveOrRefusal(context);
      if (message === undefined) break;
      if (message instanceof StreamsError) answers.refuse(message);
      else if (message.$type === MessageTypes.publish) answers.add(resultOf(message, context), message.payload.byteLength);
      else if (message.$type === MessageTypes.publishBatch) {
        message.publishes.forEach((item: unknown, i) => answers.add(resultOfItem(item, `publishes[${i}]`, context), uncheckedPayloadBytes(item)));
      } else answers.refuse(invalidArgument("$type", `expected publish or publish_batch on a publish lane, got '${opName(message.$type)}'`));
    }
    await answers.drain();
  } catch (error) {
    await answers.settle();
    throw error;
  }
}

/** The next message, or the refusal of one that does not decode or validate (it fails alone). */
async function receiveOrRefusal(context: HandlerContext): Promise<Message | StreamsError | undefined> {
  try {
    return await context.receive();
  } catch (error) {
    if (error instanceof StreamsError && error.kind === "invalid_argument" && !context.signal.aborted) return error;
    throw error;
  }
}

/** Checks one publish of a batch on its own (a bad one fails alone), then commits it. */
function resultOfItem(item: unknown, field: string, context: HandlerContext): Promise<PublishResult> {
  try {
    checkPublishItem(item, field);
  } catch (error) {
    return Promise.resolve({ error: failure(error, context).toInfo() });
  }
  return resultOf(item as PublishItem, context);
}

/** Commits one publish; the result is its segment's head or its error, never a rejection. */
function resultOf(publish: PublishItem, context: HandlerContext): Promise<PublishResult> {
  return commit(publish, context).then(
    ({ firstSequence, firstTimestamp, lastSequence, lastTimestamp }): PublishResult => ({ firstSequence, firstTimestamp, lastSequence, lastTimestamp }),
    (error: unknown) => ({ error: failure(error, context).toInfo() }),
  );
}

async function commit(publish: PublishItem, context: HandlerContext): Promise<SegmentStatus> {
  checkPayloadSize(publish.payload, "payload", context.limits);
  checkClientMetadata(publish.metadata, "metadata", context);
  const status = await context.timeCommit(context.store.publish(publish.space, publish.segment, publish.payload, publish.metadata ?? undefined, publish.producer ?? undefined));
  // A repeated publish (stored by an earlier attempt) commits nothing new.
  if (!isRepeatedAck(status)) context.notifyCommitted(status);
  return status;
}

/** What the client learns of a failed publish: protocol errors as they are, anything from below concealed (docs/limits.md). */
function failure(error: unknown, context: HandlerContext): StreamsError {
  return forClient(error, context.logger, { storeId: context.storeId, op: "publish" });
}
