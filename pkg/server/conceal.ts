import { type ErrorKind, StreamsError } from "../api/index.js";
import type { Logger } from "../api/logger.js";

const GENERIC: { [kind in ErrorKind]?: string } = {
  unavailable: "the store is unavailable on this server",
  internal: "internal server error",
};

/**
 * Whether an error carries text from below the protocol (a file system, a driver, a bug): an
 * `internal` error, or an `unavailable` one wrapping a failure that is not a StreamsError. Such text may name server
 * paths and hosts, so clients never see it (docs/limits.md).
 */
function carriesDetail(error: StreamsError): boolean {
  if (error.kind === "internal") return true;
  return error.kind === "unavailable" && error.cause !== undefined && !(error.cause instanceof StreamsError);
}

/**
 * What a client may see of `error`: itself when it is the protocol's own, else the same kind and
 * code with a generic message and a correlation id; the detail is logged under that id.
 */
export function forClient(error: unknown, logger: Logger, context: { storeId?: string; op?: string }): StreamsError {
  const failure = StreamsError.from(error);
  if (!carriesDetail(failure)) return failure;
  const correlationId = globalThis.crypto.randomUUID();
  logger.error({ ...context, correlationId, err: failure.cause ?? failure, message: failure.message }, "request failed; the client got a correlation id");
  const generic = GENERIC[failure.kind] ?? failure.kind.replace(/_/g, " ");
  return new StreamsError(failure.kind, `${generic} (correlation id ${correlationId})`, {
    code: failure.code,
    retryAfterMs: failure.retryAfterMs,
    details: { correlationId },
  });
}
