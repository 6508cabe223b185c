import type { ServerResponse } from "node:http";
import { deadline } from "../../pkg/server/abortable.js";
import { responseBody } from "./body.js";
import { type RequestContext, describe } from "./context.js";
import { H, HttpProblem, badRequest, header, isJson, isTextual, mediaType } from "./headers.js";
import { formatOffset, nextCursor, parseOffset } from "./offsets.js";
import { readRange, waitForAppend } from "./reads.js";
import type { StreamView } from "./streams.js";

type Live = "long-poll" | "sse" | undefined;

function readQuery(url: URL): { offset: string | undefined; live: Live } {
  const offsets = url.searchParams.getAll("offset");
  if (offsets.length > 1) throw badRequest("one offset per read");
  const offset = offsets[0];
  if (offset !== undefined && offset === "") throw badRequest("offset must not be empty");
  const live = url.searchParams.get("live");
  if (live !== null && live !== "long-poll" && live !== "sse") throw badRequest("live must be long-poll or sse");
  if (live !== null && offset === undefined) throw badRequest(`live=${live} needs an offset`);
  return { offset, live: live ?? undefined };
}

/** The position a read starts after; offsets past the tail are refused. */
function startOf(view: StreamView, offset: string | undefined): number {
  if (offset === undefined) return 0;
  const parsed = parseOffset(offset);
  if (parsed === undefined) throw badRequest("offset is not an offset of this server");
  if (parsed.kind === "now") return view.tail;
  if (parsed.position > view.tail) throw badRequest("offset is beyond the stream's tail");
  return parsed.position;
}

const etagOf = (view: StreamView, from: number, next: number): string =>
  `"${view.version}.${view.meta.base}:${from}:${next}${view.closed && next >= view.tail ? ":c" : ""}"`;

/** GET: catch-up, long-poll or SSE read (docs/http.md). */
export async function readStream(context: RequestContext): Promise<void> {
  const { streams, client, ref, url } = context;
  const { offset, live } = readQuery(url);
  const view = await streams.view(client, ref);
  if (view === undefined) throw new HttpProblem(404, "no such stream");
  streams.touch(view);
  const from = startOf(view, offset);
  if (live === "sse") return sse(context, view, from);
  if (live === "long-poll") return longPoll(context, view, from);
  await catchUp(context, view, from, offset === "now");
}

async function catchUp(context: RequestContext, view: StreamView, from: number, now: boolean, cursor?: string): Promise<void> {
  const { response } = context;
  const chunk = await readRange(context.streams, context.client, view, from, view.tail, context.limits.maxReadBytes, context.signal);
  const upToDate = chunk.next >= view.tail;
  describe(response, { ...view, closed: view.closed && upToDate }, chunk.next);
  if (upToDate) response.setHeader(H.upToDate, "true");
  if (cursor !== undefined && !(view.closed && upToDate)) response.setHeader(H.cursor, cursor);
  if (now) {
    response.setHeader("cache-control", "no-store");
  } else {
    const etag = etagOf(view, from, chunk.next);
    response.setHeader("etag", etag);
    response.setHeader("cache-control", "private, max-age=60, stale-while-revalidate=300");
    if (header(context.request, "if-none-match") === etag) {
      response.statusCode = 304;
      response.end();
      return;
    }
  }
  response.statusCode = 200;
  response.end(responseBody(chunk.payloads, isJson(mediaType(view.meta.contentType))));
}

/** Waits up to the long-poll timeout (or until the client leaves) for an append after the view's head. */
async function waitOnce(context: RequestContext, view: StreamView, ms: number): Promise<boolean> {
  const wait = deadline(context.signal, ms);
  try {
    return await waitForAppend(context.client, view, wait.signal);
  } finally {
    wait.dispose();
  }
}

async function longPoll(context: RequestContext, view: StreamView, from: number): Promise<void> {
  const { response, url } = context;
  const cursor = nextCursor(url.searchParams.get("cursor"));
  let current = view;
  if (from >= current.tail && !current.closed && (await waitOnce(context, current, context.limits.longPollTimeoutMs))) {
    current = (await context.streams.view(context.client, context.ref)) ?? current;
  }
  if (from < current.tail) return catchUp(context, current, from, false, cursor);
  response.statusCode = 204;
  response.setHeader(H.nextOffset, formatOffset(current.tail));
  response.setHeader(H.upToDate, "true");
  if (current.closed) response.setHeader(H.closed, "true");
  else response.setHeader(H.cursor, cursor);
  response.setHeader("cache-control", "no-store");
  response.end();
}

/**
 * One SSE event; every line of the data gets its own `data:` field, so no payload can forge an event.
 * A reader drops one space after the colon, so a line that starts with a space gets one more.
 */
function event(response: ServerResponse, name: string, data: string): void {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data:${line.startsWith(" ") ? " " : ""}${line}\n`);
  response.write(`event: ${name}\n${lines.join("")}\n`);
}

async function sse(context: RequestContext, view: StreamView, from: number): Promise<void> {
  const { response } = context;
  const base64 = !isTextual(mediaType(view.meta.contentType));
  response.statusCode = 200;
  response.setHeader("content-type", "text/event-stream");
  response.setHeader("cache-control", "no-cache");
  if (base64) response.setHeader(H.sseEncoding, "base64");
  response.flushHeaders();
  const session = deadline(context.signal, context.limits.sseMaxMs);
  try {
    await sseEvents(context, view, from, session.signal);
  } finally {
    session.dispose();
  }
  response.end();
}

/** Data and control events until the stream closes, the client leaves or `until` aborts. */
async function sseEvents(context: RequestContext, view: StreamView, from: number, until: AbortSignal): Promise<void> {
  const { response, url } = context;
  const type = mediaType(view.meta.contentType);
  const json = isJson(type);
  const base64 = !isTextual(type);
  let cursor = url.searchParams.get("cursor");
  let current = view;
  let position = from;
  while (!until.aborted) {
    const chunk = await readRange(context.streams, context.client, current, position, current.tail, context.limits.maxReadBytes, until);
    position = chunk.next;
    if (chunk.payloads.length > 0) {
      const bytes = responseBody(chunk.payloads, json);
      event(response, "data", base64 ? Buffer.from(bytes).toString("base64") : Buffer.from(bytes).toString("utf8"));
    }
    const upToDate = position >= current.tail;
    const closed = current.closed && upToDate;
    const control: { [key: string]: unknown } = { streamNextOffset: formatOffset(position) };
    if (!closed) control.streamCursor = cursor = nextCursor(cursor);
    if (upToDate) control.upToDate = true;
    if (closed) control.streamClosed = true;
    event(response, "control", JSON.stringify(control));
    if (closed) break;
    if (upToDate && !(await waitForAppend(context.client, current, until))) break;
    current = (await context.streams.view(context.client, context.ref)) ?? current;
  }
}

/** HEAD: the stream's metadata, never cached. */
export async function headStream(context: RequestContext): Promise<void> {
  const view = await context.streams.view(context.client, context.ref);
  if (view === undefined) throw new HttpProblem(404, "no such stream");
  describe(context.response, view);
  context.response.setHeader("cache-control", "no-store");
  context.response.statusCode = 200;
  context.response.end();
}
