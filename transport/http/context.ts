import type { IncomingMessage, ServerResponse } from "node:http";
import type { StreamsClient } from "../../pkg/client/index.js";
import type { AppendGroups } from "./append-groups.js";
import type { BodyShare } from "./body.js";
import { H } from "./headers.js";
import type { StreamRef } from "./meta.js";
import { formatOffset } from "./offsets.js";
import type { DurableStreams, StreamView } from "./streams.js";

/** Limits and timing of the HTTP mapping (docs/http.md). */
export interface HttpLimits {
  /** Longest a long-poll waits for data before answering 204. */
  longPollTimeoutMs: number;
  /** An SSE response ends after this long so that clients reconnect (and CDNs can collapse). */
  sseMaxMs: number;
  /** Bytes of data one catch-up response carries at most (one entry at least). */
  maxReadBytes: number;
  /** Largest request body. */
  maxBodyBytes: number;
  /** Request body bytes held at once over all requests (twice a body while it is joined). */
  maxPendingBodyBytes: number;
  /** Requests served at once (long-polls and SSE reads included); past it 503. */
  maxRequests: number;
}

/** One request being served. */
export interface RequestContext {
  streams: DurableStreams;
  /** Plain appends waiting to be written together. */
  appends: AppendGroups;
  client: StreamsClient;
  ref: StreamRef;
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  limits: HttpLimits;
  /** The request's full stream path, for `Location`. */
  location: string;
  /** This request's part of the body budget, given back when it is answered. */
  body: BodyShare;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

/** Sets the headers that describe a stream's state (content type, tail, expiry, closure). */
export function describe(response: ServerResponse, view: StreamView, tail = view.tail): void {
  response.setHeader("content-type", view.meta.contentType);
  response.setHeader(H.nextOffset, formatOffset(tail));
  if (view.meta.ttlSeconds !== undefined) response.setHeader(H.ttl, String(view.meta.ttlSeconds));
  if (view.meta.expiresAt !== undefined) response.setHeader(H.expiresAt, new Date(view.meta.expiresAt).toISOString());
  if (view.closed) response.setHeader(H.closed, "true");
}
