import { invalidArgument, type Message, MessageTypes, opName, type PublishRequest, type Response, StreamsError } from "../../api/index.js";
import { AnswerQueue } from "./answer-queue.js";
import type { HandlerContext } from "./context.js";
import { checkPayloadSize } from "./limits.js";

/** Publishes of one lane committing at once: they share the store's group commits. */
const MAX_PUBLISHES_IN_FLIGHT = 256;

/**
 * A publish lane (`publish` with `lane: true`): the first publish and every message after it are
 * committed concurrently and answered in order, each with a segment_status or a publish_error that
 * fails only that publish. Ends when the client half-closes; the stream fails only when it breaks
 * (cancel, dropped connection, node closing).
 */
export async function handlePublishLane(first: PublishRequest, context: HandlerContext): Promise<void> {
  const answers = new AnswerQueue(MAX_PUBLISHES_IN_FLIGHT, (answer) => context.send(answer));
  try {
    answers.add(answerTo(first, context));
    for (;;) {
      await answers.room();
      const message = await receiveOrRefusal(context);
      if (message === undefined) break;
      answers.add(message instanceof StreamsError ? Promise.resolve(refusal(message)) : answerTo(message, context));
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

/** Commits one publish; the answer never rejects. */
function answerTo(message: Message, context: HandlerContext): Promise<Response> {
  if (message.$type !== MessageTypes.publish) {
    return Promise.resolve(refusal(invalidArgument("$type", `expected publish on a publish lane, got '${opName(message.$type)}'`)));
  }
  try {
    checkPayloadSize(message.payload, "payload", context.limits);
  } catch (error) {
    return Promise.resolve(refusal(failure(error, context)));
  }
  return context.store.publish(message.space, message.segment, message.payload, message.metadata ?? undefined).then(
    (status): Response => {
      context.notifyCommitted(status);
      return { $type: MessageTypes.segmentStatus, ...status };
    },
    (error: unknown) => refusal(failure(error, context)),
  );
}

function refusal(error: StreamsError): Response {
  return { $type: MessageTypes.publishError, error: error.toInfo() };
}

/** StreamsErrors go back as they are; anything else is a bug, logged and reported as `internal`. */
function failure(error: unknown, context: HandlerContext): StreamsError {
  if (error instanceof StreamsError) return error;
  context.logger.error({ err: error, storeId: context.storeId, op: "publish" }, "publish failed");
  return new StreamsError("internal", "internal error in publish", { cause: error });
}
