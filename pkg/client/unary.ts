import type { Request, Response } from "../api/internal/index.js";
import { StreamsError } from "../api/index.js";
import { onAbort } from "./abort-listeners.js";
import { callFailure, throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { type GiveUp, notSentError, readGivenUpError, sentError, startDeadline } from "./deadline.js";
import { decodeReply } from "./replies.js";
import type { RequestSettings } from "./request-options.js";

export interface UnaryCall extends RequestSettings {
  /** The request changes the store: past its deadline after it went out, its outcome is unknown. */
  write: boolean;
}

/** The short name of a request type, for messages (`streamkit://api/v1/peek` → `peek`). */
const nameOf = (request: Request): string => request.$type.slice(request.$type.lastIndexOf("/") + 1);

/**
 * One request → one reply of `replyType` on its own stream. Aborted, a read rejects with `cancelled`;
 * past `timeoutMs`, with `deadline_exceeded`. A write given up either way that went out rejects with
 * outcome unknown, one still unsent is taken back (docs/design.md, "Cancelled before sent",
 * "Deadlines"). Either way the stream is cancelled.
 */
export async function unary<T extends Response["$type"]>(
  connection: Connection,
  storeId: string,
  request: Request,
  replyType: T,
  { signal, timeoutMs, write }: UnaryCall,
): Promise<Extract<Response, { $type: T }>> {
  throwIfAborted(signal);
  const stream = connection.open(storeId, request);
  // The client sends nothing after the request.
  stream.end();
  let givenUp: StreamsError | undefined;
  const giveUp = (why: GiveUp): void => {
    if (givenUp !== undefined) return;
    if (!write) givenUp = readGivenUpError(why, nameOf(request));
    // Taking back the open (still waiting for a connection) ends the stream unsent.
    else givenUp = stream.withdraw?.() === true ? notSentError(why, nameOf(request)) : sentError(why, nameOf(request));
    stream.cancel("signal" in why ? why.signal.reason : givenUp);
  };
  const stopListening = signal === undefined ? () => undefined : onAbort(signal, () => giveUp({ signal }));
  const stopDeadline = startDeadline(timeoutMs, () => giveUp({ timeoutMs }));
  try {
    // An answer that came before the abort settles this receive first: the call resolves with it
    // (the abort only cancels the stream), so an answered write is never reported outcome unknown.
    const bytes = await stream.receive();
    if (bytes === undefined) throw new StreamsError("internal", `stream ended without a ${replyType} reply`);
    return decodeReply(bytes, replyType);
  } catch (error) {
    throw givenUp ?? callFailure(error, signal, connection.closed);
  } finally {
    stopListening();
    stopDeadline();
  }
}
