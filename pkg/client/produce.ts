import {
  type ClientStream,
  encodeMessage,
  MessageTypes,
  type Record,
  type SegmentStatus,
  StreamsError,
} from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";
import { callFailure, raceAbort, throwIfAborted } from "./abort.js";
import type { BatchReader } from "./batches.js";
import type { Connection } from "./connection.js";
import { ProduceFlight } from "./produce-flight.js";
import { decodeReply, withoutType } from "./replies.js";
import type { RequestSettings } from "./request-options.js";

/** How the sending side of a produce finished. */
type SendOutcome =
  | { kind: "sent"; batches: number }
  | { kind: "stopped" }
  /** `stream.send` failed: the stream is gone, and its receive side tells why. */
  | { kind: "send_failed"; error: unknown }
  /** The record source threw (or held a record of a wrong type): the caller's own error. */
  | { kind: "source_failed"; error: unknown };

/**
 * Produces a record source to one segment: batches pipelined on one stream, one status per
 * committed batch (docs/design.md, Contracts). On an error the produce stops; batches already committed stay.
 * Aborted or past `timeoutMs` (Infinity: none) for a batch's status, it rejects with outcome unknown
 * if a batch went out unanswered, else with `cancelled` (or `deadline_exceeded`) (ProduceFlight).
 */
export async function produce(
  connection: Connection,
  storeId: string,
  space: string,
  segment: string,
  batches: BatchReader,
  { signal, timeoutMs }: RequestSettings,
): Promise<SegmentStatus[]> {
  try {
    throwIfAborted(signal);
    const first = await raceAbort(batches.next(), signal);
    if (first === undefined) return [];
    const stream = connection.open(storeId, { $type: MessageTypes.produce, space, segment });
    const flight = new ProduceFlight(stream, timeoutMs);
    const stopListening = signal === undefined ? () => undefined : onAbort(signal, () => flight.giveUp({ signal }));
    try {
      return await pipeline(stream, first, batches, flight);
    } catch (error) {
      throw flight.givenUp ?? (error instanceof SourceError ? error.error : callFailure(error, signal, connection.closed));
    } finally {
      stopListening();
      flight.stop();
    }
  } finally {
    batches.close();
  }
}

async function pipeline(stream: ClientStream, first: Record[], batches: BatchReader, flight: ProduceFlight): Promise<SegmentStatus[]> {
  const statuses: SegmentStatus[] = [];
  const progress: SendProgress = { stopped: false, halfClosed: false };
  const receiving = receiveStatuses(stream, statuses, flight);
  const sending = sendBatches(stream, first, batches, progress, flight);
  try {
    const serverEnded = await Promise.race([sending.then(() => false), receiving.then(() => true)]);
    if (serverEnded && !progress.halfClosed) throw new StreamsError("internal", "server ended the produce stream early");
    return await finish(await sending, receiving, statuses);
  } catch (error) {
    progress.stopped = true;
    stream.cancel();
    throw error;
  }
}

/** The produce's result once the sending side is done: the server's answer decides. */
async function finish(outcome: SendOutcome, receiving: Promise<void>, statuses: SegmentStatus[]): Promise<SegmentStatus[]> {
  await receiving;
  switch (outcome.kind) {
    case "sent":
      if (statuses.length !== outcome.batches) {
        throw new StreamsError("internal", `expected ${outcome.batches} statuses, got ${statuses.length}`);
      }
      return statuses;
    case "send_failed":
      throw outcome.error;
    case "source_failed":
      throw new SourceError(outcome.error);
    case "stopped":
      throw new StreamsError("internal", "produce stopped");
  }
}

/** Carries the source's own error through the stream-error handling unchanged. */
class SourceError {
  constructor(readonly error: unknown) {}
}

async function receiveStatuses(stream: ClientStream, statuses: SegmentStatus[], flight: ProduceFlight): Promise<void> {
  for (;;) {
    const bytes = await stream.receive();
    if (bytes === undefined) return;
    statuses.push(withoutType(decodeReply(bytes, MessageTypes.segmentStatus)));
    flight.answered();
  }
}

interface SendProgress {
  /** Set by the caller: send nothing more. */
  stopped: boolean;
  /** Set by the sender once every batch is sent and the stream half-closed. */
  halfClosed: boolean;
}

/** Sends each batch as soon as it is read, without waiting for earlier statuses; then half-closes. */
async function sendBatches(stream: ClientStream, first: Record[], batches: BatchReader, progress: SendProgress, flight: ProduceFlight): Promise<SendOutcome> {
  let count = 0;
  let batch: Record[] | undefined = first;
  while (batch !== undefined) {
    const bytes = encodeMessage({ $type: MessageTypes.recordBatch, records: batch });
    flight.sending(bytes);
    try {
      await stream.send(bytes);
    } catch (error) {
      return { kind: "send_failed", error };
    }
    // Given up meanwhile (the batch then taken back, or not): read nothing more from the source.
    if (flight.stopped) return { kind: "stopped" };
    flight.sent();
    count++;
    try {
      batch = await batches.next();
    } catch (error) {
      // Half-close so the batches already sent still commit and answer.
      stream.end();
      return { kind: "source_failed", error };
    }
    if (progress.stopped) return { kind: "stopped" };
  }
  stream.end();
  progress.halfClosed = true;
  return { kind: "sent", batches: count };
}
