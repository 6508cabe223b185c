import { HttpProblem, H, badRequest, closedHeader, expiryHeaders, header, isJson, mediaType, parseCount } from "./headers.js";
import { jsonMessages, readBody } from "./body.js";
import { type RequestContext, describe } from "./context.js";
import { loadMeta, type StreamMeta } from "./meta.js";
import { formatOffset, parseOffset } from "./offsets.js";
import { readRange } from "./reads.js";
import { DurableStreams, type StreamView } from "./streams.js";

interface ForkRequest {
  path: string;
  offset: string | undefined;
  subOffset: number;
}

function forkRequest(context: RequestContext): ForkRequest | undefined {
  const from = header(context.request, H.forkedFrom);
  const offset = header(context.request, H.forkOffset);
  const sub = header(context.request, H.forkSubOffset);
  if (from === undefined) {
    if (offset !== undefined || sub !== undefined) throw badRequest("Stream-Fork-Offset and Stream-Fork-Sub-Offset need Stream-Forked-From");
    return undefined;
  }
  const subOffset = sub === undefined ? 0 : parseCount(sub, "Stream-Fork-Sub-Offset");
  if (subOffset > 0 && offset === undefined) throw badRequest("Stream-Fork-Sub-Offset needs Stream-Fork-Offset");
  return { path: from, offset, subOffset };
}

/** Where a fork diverges: the inherited position, and the bytes of a partial entry past it (binary sub-offsets). */
async function forkPoint(context: RequestContext, source: StreamView, fork: ForkRequest): Promise<{ position: number; offset: string; prefix?: Uint8Array }> {
  let anchor = source.tail;
  if (fork.offset !== undefined) {
    const parsed = parseOffset(fork.offset);
    if (parsed === undefined || parsed.kind !== "position") throw badRequest("Stream-Fork-Offset is not an offset of this server");
    if (parsed.position > source.tail) throw badRequest("Stream-Fork-Offset is beyond the source's tail");
    anchor = parsed.position;
  }
  const offset = formatOffset(anchor);
  if (fork.subOffset === 0) return { position: anchor, offset };
  if (anchor >= source.tail) throw badRequest("Stream-Fork-Sub-Offset names a position past the source's data");
  if (isJson(mediaType(source.meta.contentType))) {
    if (anchor + fork.subOffset > source.tail) throw badRequest("Stream-Fork-Sub-Offset is past the source's messages");
    return { position: anchor + fork.subOffset, offset };
  }
  const next = await readRange(context.streams, context.client, source, anchor, anchor + 1, Number.MAX_SAFE_INTEGER);
  const entry = next.payloads[0];
  if (entry === undefined || fork.subOffset > entry.byteLength) throw badRequest("Stream-Fork-Sub-Offset is past the next append");
  if (fork.subOffset === entry.byteLength) return { position: anchor + 1, offset };
  return { position: anchor, offset, prefix: entry.slice(0, fork.subOffset) };
}

/** Whether an existing stream matches a create request (idempotent PUT). */
function sameConfig(view: StreamView, closed: boolean, wanted: Omit<StreamMeta, "base" | "createdAt" | "refs" | "life">, fork?: ForkRequest): boolean {
  const { meta } = view;
  if (mediaType(meta.contentType) !== mediaType(wanted.contentType)) return false;
  if (meta.ttlSeconds !== wanted.ttlSeconds || meta.expiresAt !== wanted.expiresAt) return false;
  if (view.closed !== closed) return false;
  if ((meta.fork === undefined) !== (fork === undefined)) return false;
  if (meta.fork !== undefined && fork !== undefined) {
    if (meta.fork.path !== fork.path || meta.fork.subOffset !== fork.subOffset) return false;
    if (fork.offset !== undefined && fork.offset !== meta.fork.offset) return false;
  }
  return true;
}

/** PUT: creates a stream (or a fork), idempotently for the same settings (docs/http.md). */
export async function createStream(context: RequestContext): Promise<void> {
  const { request, response, streams, client, ref } = context;
  const expiry = expiryHeaders(request);
  const closed = closedHeader(request);
  const fork = forkRequest(context);
  const requestedType = header(request, "content-type");
  const body = await readBody(request, context.limits.maxBodyBytes, context.body);

  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await loadMeta(client, ref);
    let source: StreamView | undefined;
    let contentType = requestedType ?? "application/octet-stream";
    let ttlSeconds = expiry.ttlSeconds;
    let expiresAt = expiry.expiresAt;
    if (fork !== undefined) {
      source = await streams.view(client, streams.resolve(fork.path), true);
      if (source === undefined) throw new HttpProblem(404, "the stream to fork does not exist");
      if (source.meta.life !== "open") throw new HttpProblem(409, "the stream to fork was deleted");
      if (requestedType !== undefined && !DurableStreams.sameType(source, requestedType)) throw new HttpProblem(409, "a fork has its source's content type");
      contentType = requestedType ?? source.meta.contentType;
      if (ttlSeconds === undefined && expiresAt === undefined) ({ ttlSeconds, expiresAt } = source.meta);
    }
    const wanted = { contentType, ...(ttlSeconds !== undefined && { ttlSeconds }), ...(expiresAt !== undefined && { expiresAt }) };

    const existing = await streams.view(client, ref).catch((error: unknown) => {
      if (error instanceof HttpProblem && error.status === 410) throw new HttpProblem(409, "a deleted stream's path cannot be used again while forks read it");
      throw error;
    });
    if (existing !== undefined) {
      if (!sameConfig(existing, closed, wanted, fork)) throw new HttpProblem(409, "the stream exists with other settings");
      describe(response, existing);
      response.statusCode = 200;
      response.end();
      return;
    }
    if (current.version !== (await loadMeta(client, ref)).version) continue;

    const point = source !== undefined && fork !== undefined ? await forkPoint(context, source, fork) : undefined;
    const json = isJson(mediaType(contentType));
    const payloads = body.byteLength === 0 ? [] : json ? jsonMessages(body, true) : [body];
    if (point?.prefix !== undefined) payloads.unshift(point.prefix);

    const forkMeta = point !== undefined && fork !== undefined ? { fork: { path: fork.path, position: point.position, offset: point.offset, subOffset: fork.subOffset } } : {};
    const meta = await streams.createRecord(client, ref, current.version, { ...wanted, ...forkMeta });
    if (meta === undefined) continue;
    if (fork !== undefined && !(await streams.retain(client, streams.resolve(fork.path)))) {
      await streams.remove(client, ref);
      throw new HttpProblem(409, "the stream to fork was deleted");
    }
    let view = await streams.view(client, ref);
    if (view === undefined) throw new HttpProblem(409, "the stream was deleted while being created");
    if (payloads.length > 0 || closed) {
      if (!(await streams.write(client, view, payloads, { close: closed }))) throw new HttpProblem(409, "the stream was written while being created");
      view = (await streams.view(client, ref)) ?? view;
    }
    streams.touch(view);
    describe(response, view);
    response.setHeader("location", context.location);
    response.statusCode = 201;
    response.end();
    return;
  }
  throw new HttpProblem(503, "the stream kept changing while being created", { "retry-after": "1" });
}
