import { type ClientStream, cancelledError, StreamsError } from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";

/** Cancels `stream` with the signal's reason when it aborts; returns the listener's disposer. */
export function cancelOnAbort(stream: ClientStream, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => undefined;
  return onAbort(signal, () => stream.cancel(signal.reason));
}

/**
 * What a failed call rejects with: `cancelled` (cause = the reason) once aborted; `unavailable` once
 * the client is closed, whatever the transport made of its streams; else the error as a StreamsError.
 */
export function callFailure(error: unknown, signal: AbortSignal | undefined, clientClosed: boolean): StreamsError {
  if (signal?.aborted) return cancelledError(signal);
  if (clientClosed) return new StreamsError("unavailable", "client is closed", { cause: error });
  return StreamsError.from(error);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal);
}

/** Settles like `promise`, or rejects with `cancelled` as soon as the signal aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(cancelledError(signal));
    const release = onAbort(signal, () => reject(cancelledError(signal)));
    void promise.then(resolve, reject).finally(release);
  });
}
