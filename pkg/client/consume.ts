import { type ClientStream, decodeAny, type Entry, type EntriesMessage, entriesOfGroups, MessageTypes, StreamsError } from "../api/internal/index.js";
import { callFailure, cancelOnAbort, throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { ReadState } from "./consume-state.js";
import { ReadProgress, type ReadRequest } from "./resume.js";
import { pauseOrCancel, type RetryPolicy, retryDelay } from "./retry-policy.js";
import type { ConsumeIterable } from "./types.js";

/** One read: where to send it, and how to resume it. */
export interface ReadTarget {
  connection: Connection;
  storeId: string;
  request: ReadRequest;
  signal: AbortSignal | undefined;
  policy: RetryPolicy;
}

/**
 * A read as an async iterable: each iteration opens its own stream (lazily, on the first `next`) and
 * yields the entries of every `entries` message in order. When the stream fails with a transient
 * error (a dropped connection, a server going away) the iteration opens the read again right after
 * the last entry it delivered, pacing resumes by `policy`, so the caller sees every entry exactly once,
 * in order. Permanent errors and cancellations end the loop. Aborting `signal` ends the loop with
 * `cancelled` (cause = the reason). `state` is the connection's, with the latest iteration's resumes.
 */
export function consumeIterable(target: ReadTarget): ConsumeIterable {
  let latest = new ReadState();
  return {
    [Symbol.asyncIterator]: () => {
      latest = new ReadState();
      return readEntries(target, latest);
    },
    get state() {
      return latest.snapshot(target.connection.state);
    },
  };
}

/** How one stream of a read ended, when it did not throw. */
type StreamOutcome = { kind: "ended" } | { kind: "failed"; error: StreamsError };

async function* readEntries(target: ReadTarget, state: ReadState): AsyncGenerator<Entry, void, undefined> {
  const { signal, policy } = target;
  const progress = new ReadProgress(target.request);
  /** Resumes in a row whose stream delivered nothing. */
  let attempts = 0;
  throwIfAborted(signal);
  for (;;) {
    const messages = streamEntries(target, state, progress.request(), () => (attempts = 0));
    let outcome: StreamOutcome | undefined;
    try {
      // Entries go out one at a time, each recorded as it reaches the caller.
      while (outcome === undefined) {
        const next = await messages.next();
        if (next.done === true) outcome = next.value;
        else {
          for (const entry of next.value) {
            progress.delivered(entry);
            state.entry();
            yield entry;
            // The caller may abort while holding an entry: stop before handing out the next one.
            throwIfAborted(signal);
          }
        }
      }
    } finally {
      // The caller stopped early: release the stream.
      if (outcome === undefined) await messages.return({ kind: "ended" });
    }
    if (outcome.kind === "ended" || progress.complete) return;
    const { error } = outcome;
    if (!resumable(error, target) || ++attempts > policy.maxAttempts) throw error;
    await pauseOrCancel(retryDelay(policy, attempts, error.retryAfterMs), signal);
    state.resumed();
  }
}

/** A transient failure that neither the caller nor a closed client caused. */
function resumable(error: StreamsError, { connection, signal }: ReadTarget): boolean {
  return error.transient && signal?.aborted !== true && !connection.closed && connection.state.status !== "closed";
}

/**
 * One stream of a read: yields the entries of each `entries` message until the server ends it, or
 * returns the transient-or-not error it failed with. Cancels the stream if the loop ends first.
 */
async function* streamEntries(
  { connection, storeId, signal }: ReadTarget,
  state: ReadState,
  request: ReadRequest,
  onMessage: () => void,
): AsyncGenerator<Entry[], StreamOutcome, undefined> {
  let stream: ClientStream;
  try {
    stream = connection.open(storeId, request);
  } catch (error) {
    return { kind: "failed", error: callFailure(error, signal, connection.closed) };
  }
  const release = cancelOnAbort(stream, signal);
  let serverEnded = false;
  try {
    for (;;) {
      // Closing the client ends its reads, even one whose remaining messages already arrived.
      if (connection.closed) return { kind: "failed", error: callFailure(undefined, signal, true) };
      let bytes: Uint8Array | undefined;
      try {
        bytes = await stream.receive();
      } catch (error) {
        serverEnded = true;
        return { kind: "failed", error: callFailure(error, signal, connection.closed) };
      }
      if (bytes === undefined) {
        serverEnded = true;
        return { kind: "ended" };
      }
      onMessage();
      const message = decodeReadMessage(bytes);
      if (message === "caught_up") {
        state.serverCaughtUp();
        continue;
      }
      yield entriesOfGroups(message.groups);
    }
  } finally {
    release();
    if (!serverEnded) stream.cancel();
  }
}

/** A read's stream carries entries, and `caught_up` once on a follow read; anything else is a protocol fault. */
function decodeReadMessage(bytes: Uint8Array): EntriesMessage | "caught_up" {
  const message = decodeAny(bytes);
  const type = typeof message === "object" && message !== null ? (message as { $type?: unknown }).$type : undefined;
  if (type === MessageTypes.caughtUp) return "caught_up";
  if (type === MessageTypes.entries) return message as EntriesMessage;
  throw new StreamsError("internal", `unexpected reply: expected ${MessageTypes.entries}, got ${String(type)}`);
}
