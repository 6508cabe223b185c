import type { Request, Response } from "../api/internal/index.js";
import { StreamsError } from "../api/index.js";
import { callFailure, cancelOnAbort, throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { decodeReply } from "./replies.js";

/** One request → one reply of `replyType` on its own stream. */
export async function unary<T extends Response["$type"]>(
  connection: Connection,
  storeId: string,
  request: Request,
  replyType: T,
  signal: AbortSignal | undefined,
): Promise<Extract<Response, { $type: T }>> {
  throwIfAborted(signal);
  const stream = connection.open(storeId, request);
  // The client sends nothing after the request.
  stream.end();
  const release = cancelOnAbort(stream, signal);
  try {
    const bytes = await stream.receive();
    if (bytes === undefined) throw new StreamsError("internal", `stream ended without a ${replyType} reply`);
    return decodeReply(bytes, replyType);
  } catch (error) {
    throw callFailure(error, signal, connection.closed);
  } finally {
    release();
  }
}
