/** Error kinds of the protocol (docs/design.md, Contracts). Stable: listed in the README. */
export const ERROR_KINDS = [
  "invalid_argument",
  "unauthenticated",
  "permission_denied",
  "not_found",
  "sequence_conflict",
  "resource_exhausted",
  "unavailable",
  "deadline_exceeded",
  "cancelled",
  "internal",
  "out_of_range",
  "failed_precondition",
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];
export type ErrorCode = "transient" | "permanent";

const TRANSIENT_KINDS: ReadonlySet<ErrorKind> = new Set(["unavailable", "resource_exhausted", "deadline_exceeded"]);

/** Whether a retry of an operation that failed with this kind may succeed. */
export function codeOf(kind: ErrorKind): ErrorCode {
  return TRANSIENT_KINDS.has(kind) ? "transient" : "permanent";
}

export interface StreamsErrorOptions {
  /**
   * Overrides the kind's usual code: a request that is itself over a limit (a payload, a list) is
   * `resource_exhausted` yet permanent, since retrying it cannot succeed.
   */
  code?: ErrorCode;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The wire form of an error (what travels in an error frame). */
export interface ErrorInfo {
  code: ErrorCode;
  kind: ErrorKind;
  message: string;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

/** The one error class of Streamkit: every failure an operation reports is a StreamsError. */
export class StreamsError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, options: StreamsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StreamsError";
    this.kind = kind;
    this.code = options.code ?? codeOf(kind);
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  get transient(): boolean {
    return this.code === "transient";
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, kind: this.kind, message: this.message };
    if (this.retryAfterMs !== undefined) info.retryAfterMs = this.retryAfterMs;
    if (this.details !== undefined) info.details = this.details;
    return info;
  }

  static fromInfo(info: ErrorInfo): StreamsError {
    const kind = isErrorKind(info.kind) ? info.kind : "internal";
    const options: StreamsErrorOptions = {};
    if (info.code === "transient" || info.code === "permanent") options.code = info.code;
    if (typeof info.retryAfterMs === "number") options.retryAfterMs = info.retryAfterMs;
    if (info.details !== undefined && typeof info.details === "object") options.details = info.details;
    return new StreamsError(kind, typeof info.message === "string" ? info.message : kind, options);
  }

  /** Wraps anything thrown into a StreamsError; unknown failures become `internal`. */
  static from(error: unknown, fallback: ErrorKind = "internal"): StreamsError {
    if (error instanceof StreamsError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StreamsError(fallback, message, { cause: error });
  }
}

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && (ERROR_KINDS as readonly string[]).includes(value);
}

export function invalidArgument(field: string, problem: string): StreamsError {
  return new StreamsError("invalid_argument", `${field}: ${problem}`, { details: { field } });
}

/** A request that is itself over a limit: `resource_exhausted`, permanent (the same request never fits). */
export function overLimit(message: string, details: Record<string, unknown>): StreamsError {
  return new StreamsError("resource_exhausted", message, { code: "permanent", details });
}

/** The error an aborted call rejects with: kind `cancelled`, `cause` = the signal's reason. */
export function cancelledError(signal?: AbortSignal): StreamsError {
  return new StreamsError("cancelled", "operation cancelled", { cause: signal?.reason });
}

/**
 * What a call rejects with when it is given up (aborted, or past its deadline) after its request may
 * have gone out: `deadline_exceeded` with `details.outcome: "unknown"`, never `cancelled`, because
 * the server may still apply it (docs/design.md, "Cancelled before sent").
 */
export function outcomeUnknown(message: string, cause?: unknown): StreamsError {
  return new StreamsError("deadline_exceeded", `${message}; the request was sent and may have taken effect`, { details: { outcome: "unknown" }, cause });
}

export function sequenceConflict(expected: number, actual: number): StreamsError {
  return new StreamsError("sequence_conflict", `sequence conflict: expected ${expected}, got ${actual}`, {
    details: { expected, actual },
  });
}

/**
 * A read that starts inside a range removed by truncation, retention or delete (docs/lifecycle.md).
 * `details` name where the kept entries start: `{ firstSequence }` or `{ firstOffset }`.
 */
export function outOfRange(message: string, details: Record<string, unknown>): StreamsError {
  return new StreamsError("out_of_range", message, { details });
}

/** An operation the target's state refuses, such as a produce to a closed segment (docs/lifecycle.md). */
export function failedPrecondition(message: string): StreamsError {
  return new StreamsError("failed_precondition", message);
}

export function notFound(message: string): StreamsError {
  return new StreamsError("not_found", message);
}
