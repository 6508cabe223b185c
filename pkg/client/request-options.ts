import { type Fields, optionalObject, requireSignal } from "./args.js";
import { requireTimeout } from "./deadline.js";

/** How long a request may wait for its answer, and the caller's signal. */
export interface RequestSettings {
  signal: AbortSignal | undefined;
  /** Infinity: no deadline. */
  timeoutMs: number;
}

/** A call's `timeoutMs`, or the client's `requestTimeoutMs` when it gives none. */
export function timeoutOf(fields: Fields, defaultMs: number): number {
  return fields.timeoutMs === undefined ? defaultMs : requireTimeout(fields.timeoutMs, "options.timeoutMs");
}

/** The `signal` and `timeoutMs` of a call's trailing options, after checking their types. */
export function requestSettings(options: unknown, defaultTimeoutMs: number): RequestSettings {
  const fields = optionalObject(options, "options");
  return { signal: requireSignal(fields.signal, "options.signal"), timeoutMs: timeoutOf(fields, defaultTimeoutMs) };
}
