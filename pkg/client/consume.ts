import { type Entry, MessageTypes, type Request } from "../api/index.js";
import { callFailure, cancelOnAbort, throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { decodeReply, toEntry } from "./replies.js";
import type { ConsumeIterable, ConsumeState } from "./types.js";

/**
 * A read as an async iterable: each iteration opens its own stream (lazily, on the first `next`),
 * yields the entries of every `entries` message in order, and cancels the stream if the loop ends
 * before the server does. Aborting `signal` ends the loop with `cancelled` (cause = the reason).
 */
export function consumeIterable(
  connection: Connection,
  storeId: string,
  request: Request,
  signal: AbortSignal | undefined,
): ConsumeIterable {
  return {
    [Symbol.asyncIterator]: () => readEntries(connection, storeId, request, signal),
    get state(): ConsumeState {
      return { ...connection.state, caughtUp: 0 };
    },
  };
}

async function* readEntries(
  connection: Connection,
  storeId: string,
  request: Request,
  signal: AbortSignal | undefined,
): AsyncGenerator<Entry, void, undefined> {
  throwIfAborted(signal);
  const stream = connection.open(storeId, request);
  const release = cancelOnAbort(stream, signal);
  let serverEnded = false;
  try {
    for (;;) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await stream.receive();
        if (bytes === undefined) {
          serverEnded = true;
          return;
        }
      } catch (error) {
        serverEnded = true;
        throw callFailure(error, signal, connection.closed);
      }
      for (const entry of decodeReply(bytes, MessageTypes.entries).entries) {
        yield toEntry(entry);
        // The caller may abort while holding an entry: stop before handing out the next one.
        throwIfAborted(signal);
      }
    }
  } finally {
    release();
    if (!serverEnded) stream.cancel();
  }
}
