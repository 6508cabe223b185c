import { cancelledError, outcomeUnknown, StreamsError } from "../api/internal/index.js";
import { startTimer } from "../api/internal/timer.js";

/** Longest delay a timer takes (setTimeout fires at once past it). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Why a call was given up before its answer came: the caller's signal aborted, or its own deadline
 * (`timeoutMs`) passed (docs/design.md, "Deadlines").
 */
export type GiveUp = { signal: AbortSignal } | { timeoutMs: number };

/** A `timeoutMs` option: an integer in 1..2^31-1, or Infinity for no deadline. TypeError otherwise. */
export function requireTimeout(value: unknown, name: string): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new TypeError(`${name} must be an integer in 1..${MAX_TIMEOUT_MS} or Infinity, got ${String(value)}`);
  }
  return value;
}

/** The error of a call given up before anything of it went out: `cancelled`, or `deadline_exceeded` without an outcome (nothing was done). */
export function notSentError(why: GiveUp, what: string): StreamsError {
  if ("signal" in why) return cancelledError(why.signal);
  return new StreamsError("deadline_exceeded", `${what} timed out after ${why.timeoutMs} ms; nothing of it was sent`);
}

/** The error of a write given up after it may have gone out: outcome unknown (docs/design.md, "Cancelled before sent"). */
export function sentError(why: GiveUp, what: string): StreamsError {
  if ("signal" in why) return outcomeUnknown(`${what} aborted`, why.signal.reason);
  return outcomeUnknown(`${what} timed out after ${why.timeoutMs} ms`);
}

/** The error of a read given up: `cancelled` or `deadline_exceeded`, with nothing to be unsure about. */
export function readGivenUpError(why: GiveUp, what: string): StreamsError {
  if ("signal" in why) return cancelledError(why.signal);
  return new StreamsError("deadline_exceeded", `${what} timed out after ${why.timeoutMs} ms`);
}

/** Runs `expire` once `timeoutMs` has passed (never for Infinity); returns what stops the deadline. */
export function startDeadline(timeoutMs: number, expire: () => void): () => void {
  if (timeoutMs === Number.POSITIVE_INFINITY) return () => undefined;
  // Not unref'd: a call waiting on its answer keeps the process up, and the deadline ends that wait.
  return startTimer(expire, timeoutMs, { unref: false });
}
