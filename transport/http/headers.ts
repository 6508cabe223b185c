import type { IncomingMessage, ServerResponse } from "node:http";

/** Header names of the Durable Streams protocol (lower case, as node:http delivers them). */
export const H = {
  nextOffset: "stream-next-offset",
  upToDate: "stream-up-to-date",
  closed: "stream-closed",
  cursor: "stream-cursor",
  ttl: "stream-ttl",
  expiresAt: "stream-expires-at",
  seq: "stream-seq",
  forkedFrom: "stream-forked-from",
  forkOffset: "stream-fork-offset",
  forkSubOffset: "stream-fork-sub-offset",
  producerId: "producer-id",
  producerEpoch: "producer-epoch",
  producerSeq: "producer-seq",
  expectedSeq: "producer-expected-seq",
  receivedSeq: "producer-received-seq",
  sseEncoding: "stream-sse-data-encoding",
} as const;

/** A request the protocol refuses, with the status and headers to answer it with. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: { [name: string]: string } = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpProblem => new HttpProblem(400, message);

export function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Stream-Closed` counts only when it is exactly `true` (any case); other values are ignored. */
export function closedHeader(request: IncomingMessage): boolean {
  return header(request, H.closed)?.toLowerCase() === "true";
}

/** The media type without parameters, lower case; `application/octet-stream` when absent. */
export function mediaType(contentType: string | undefined): string {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "" ? "application/octet-stream" : type;
}

export const isJson = (type: string): boolean => type === "application/json";

/** Text types travel as UTF-8 in SSE; everything else as base64. */
export const isTextual = (type: string): boolean => type.startsWith("text/") || isJson(type);

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;

/** A non-negative decimal integer without sign, leading zeros, point or exponent, at most 2^53 - 1. */
export function parseCount(value: string, what: string): number {
  if (!DECIMAL_RE.test(value)) throw badRequest(`${what} must be a non-negative integer`);
  const count = Number(value);
  if (!Number.isSafeInteger(count)) throw badRequest(`${what} is too large`);
  return count;
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A stream's expiry settings from `Stream-TTL` / `Stream-Expires-At`; both at once is refused. */
export function expiryHeaders(request: IncomingMessage): { ttlSeconds?: number; expiresAt?: number } {
  const ttl = header(request, H.ttl);
  const expires = header(request, H.expiresAt);
  if (ttl !== undefined && expires !== undefined) throw badRequest("Stream-TTL and Stream-Expires-At are exclusive");
  if (ttl !== undefined) return { ttlSeconds: parseCount(ttl, "Stream-TTL") };
  if (expires !== undefined) {
    const at = Date.parse(expires);
    if (!RFC3339_RE.test(expires) || Number.isNaN(at)) throw badRequest("Stream-Expires-At must be an RFC 3339 timestamp");
    return { expiresAt: at };
  }
  return {};
}

export interface ProducerHeaders {
  id: string;
  epoch: number;
  seq: number;
}

/** The idempotent-producer headers: all three or none. */
export function producerHeaders(request: IncomingMessage): ProducerHeaders | undefined {
  const id = header(request, H.producerId);
  const epoch = header(request, H.producerEpoch);
  const seq = header(request, H.producerSeq);
  if (id === undefined && epoch === undefined && seq === undefined) return undefined;
  if (id === undefined || epoch === undefined || seq === undefined) {
    throw badRequest("Producer-Id, Producer-Epoch and Producer-Seq go together");
  }
  if (id === "") throw badRequest("Producer-Id must not be empty");
  return { id, epoch: parseCount(epoch, "Producer-Epoch"), seq: parseCount(seq, "Producer-Seq") };
}

/** Headers every response carries (the protocol's browser security headers, and CORS for fetch()). */
export function setCommonHeaders(response: ServerResponse): void {
  response.setHeader("x-content-type-options", "nosniff");
  response.setHeader("cross-origin-resource-policy", "cross-origin");
  response.setHeader("access-control-allow-origin", "*");
  response.setHeader(
    "access-control-expose-headers",
    "Stream-Next-Offset, Stream-Up-To-Date, Stream-Closed, Stream-Cursor, Stream-TTL, Stream-Expires-At, ETag, Location, " +
      "Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, Stream-SSE-Data-Encoding",
  );
}

/** Answers a CORS preflight. */
export function answerPreflight(response: ServerResponse): void {
  response.statusCode = 204;
  response.setHeader("access-control-allow-methods", "GET, HEAD, PUT, POST, DELETE, OPTIONS");
  response.setHeader(
    "access-control-allow-headers",
    "Authorization, Content-Type, If-None-Match, Stream-TTL, Stream-Expires-At, Stream-Seq, Stream-Closed, Stream-Forked-From, " +
      "Stream-Fork-Offset, Stream-Fork-Sub-Offset, Producer-Id, Producer-Epoch, Producer-Seq",
  );
  response.setHeader("access-control-max-age", "600");
  response.end();
}
