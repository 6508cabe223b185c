import type { IncomingMessage, ServerResponse } from "node:http";
import { type ErrorKind, StreamsError } from "../../api/index.js";

/** HTTP status of an error kind (the body says the kind). */
const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  sequence_conflict: 409,
  resource_exhausted: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  cancelled: 499,
  internal: 500,
  out_of_range: 416,
  failed_precondition: 412,
};

/** No API answer may be cached: it describes this moment. */
const NO_STORE = { "cache-control": "no-store" };

export const isHead = (request: IncomingMessage): boolean => request.method === "HEAD";

/** Sends a complete answer; HEAD gets the headers only. */
export function send(request: IncomingMessage, response: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  response.writeHead(status, { ...NO_STORE, ...headers, "content-length": String(Buffer.byteLength(body)) });
  response.end(isHead(request) ? undefined : body);
}

export function sendJson(request: IncomingMessage, response: ServerResponse, status: number, body: unknown): void {
  send(request, response, status, { "content-type": "application/json; charset=utf-8" }, JSON.stringify(body));
}

/** An error as `{ kind, message }` with its status code (401 adds the Bearer challenge). */
export function sendError(request: IncomingMessage, response: ServerResponse, error: StreamsError, status = STATUS_OF_KIND[error.kind]): void {
  if (status === 401) response.setHeader("www-authenticate", 'Bearer realm="streamkit"');
  sendJson(request, response, status, { kind: error.kind, message: error.message });
}

/** 405 naming the methods the path takes. */
export function sendMethodNotAllowed(request: IncomingMessage, response: ServerResponse, allowed: readonly string[]): void {
  response.setHeader("allow", allowed.join(", "));
  const error = new StreamsError("invalid_argument", `${request.method ?? "?"} is not allowed here; use ${allowed.join(" or ")}`);
  sendError(request, response, error, 405);
}
