import type { ServerResponse } from "node:http";
import { jsonMessages, readBody } from "./body.js";
import { type RequestContext } from "./context.js";
import { H, HttpProblem, type ProducerHeaders, badRequest, closedHeader, header, isJson, mediaType, producerHeaders } from "./headers.js";
import { formatOffset } from "./offsets.js";
import { DurableStreams, type StreamView } from "./streams.js";
import type { WriterState } from "./writers.js";

function closedAnswer(response: ServerResponse, view: StreamView, status: number): void {
  response.statusCode = status;
  response.setHeader(H.closed, "true");
  response.setHeader(H.nextOffset, formatOffset(view.tail));
}

const sameTuple = (a: ProducerHeaders | undefined, b: ProducerHeaders): boolean => a !== undefined && a.id === b.id && a.epoch === b.epoch && a.seq === b.seq;

type Verdict = { accept: true } | { accept: false; status: number; headers: { [name: string]: string } };

/** Idempotent producer checks (docs/http.md): fencing by epoch, duplicates, gaps. */
function checkProducer(state: WriterState, producer: ProducerHeaders): Verdict {
  const known = state.producers.get(producer.id);
  if (known === undefined) {
    if (producer.seq === 0) return { accept: true };
    return { accept: false, status: 409, headers: { [H.expectedSeq]: "0", [H.receivedSeq]: String(producer.seq) } };
  }
  if (producer.epoch < known.epoch) return { accept: false, status: 403, headers: { [H.producerEpoch]: String(known.epoch) } };
  if (producer.epoch > known.epoch) {
    if (producer.seq !== 0) throw badRequest("a new Producer-Epoch starts at Producer-Seq 0");
    return { accept: true };
  }
  if (producer.seq <= known.seq) {
    return { accept: false, status: 204, headers: { [H.producerEpoch]: String(known.epoch), [H.producerSeq]: String(known.seq) } };
  }
  if (producer.seq === known.seq + 1) return { accept: true };
  return { accept: false, status: 409, headers: { [H.expectedSeq]: String(known.seq + 1), [H.receivedSeq]: String(producer.seq) } };
}

/** POST: appends to a stream, optionally closing it in the same batch (docs/http.md). */
export async function appendToStream(context: RequestContext): Promise<void> {
  const { request, response, streams, client, ref } = context;
  const close = closedHeader(request);
  const producer = producerHeaders(request);
  const streamSeq = header(request, H.seq);
  const contentType = header(request, "content-type");
  const body = await readBody(request, context.limits.maxBodyBytes, context.body);

  if (producer === undefined && streamSeq === undefined && !close && body.byteLength > 0) {
    const outcome = await context.appends.append(streams, client, ref, header(request, "authorization") ?? "", body, contentType);
    if ("problem" in outcome) throw outcome.problem;
    if ("closed" in outcome) closedAnswer(response, outcome.closed, 409);
    else {
      response.statusCode = 204;
      response.setHeader(H.nextOffset, formatOffset(outcome.tail));
    }
    response.end();
    return;
  }

  await streams.exclusive(`${ref.storeId}\u0000${ref.space}\u0000${ref.segment}`, async () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const view = await streams.view(client, ref);
      if (view === undefined) throw new HttpProblem(404, "no such stream");
      const state = producer !== undefined || streamSeq !== undefined || view.closed
        ? await streams.writers.current(client, ref, view.key, view.meta.base, view.head)
        : undefined;

      if (view.closed) {
        if (producer !== undefined && state !== undefined) {
          const known = state.producers.get(producer.id);
          if (known !== undefined && producer.epoch < known.epoch) {
            throw new HttpProblem(403, "stale producer epoch", { [H.producerEpoch]: String(known.epoch) });
          }
          if (sameTuple(view.closer, producer)) {
            closedAnswer(response, view, 204);
            response.setHeader(H.producerEpoch, String(producer.epoch));
            response.setHeader(H.producerSeq, String(producer.seq));
            response.end();
            return;
          }
        }
        closedAnswer(response, view, close && body.byteLength === 0 ? 204 : 409);
        response.end();
        return;
      }
      if (body.byteLength === 0 && !close) throw badRequest("an append needs a body (or Stream-Closed: true)");
      if (body.byteLength > 0) {
        if (contentType === undefined) throw badRequest("an append needs a Content-Type");
        if (!DurableStreams.sameType(view, contentType)) throw new HttpProblem(409, "Content-Type differs from the stream's");
      }
      const payloads = body.byteLength === 0 ? [] : isJson(mediaType(view.meta.contentType)) ? jsonMessages(body, false) : [body];

      if (producer !== undefined && state !== undefined) {
        const verdict = checkProducer(state, producer);
        if (!verdict.accept) {
          if (verdict.status === 204) {
            response.statusCode = 204;
            for (const [name, value] of Object.entries(verdict.headers)) response.setHeader(name, value);
            response.setHeader(H.nextOffset, formatOffset(view.tail));
            response.end();
            return;
          }
          throw new HttpProblem(verdict.status, verdict.status === 403 ? "stale producer epoch" : "producer sequence gap", verdict.headers);
        }
      }
      if (streamSeq !== undefined && state?.streamSeq !== undefined && Buffer.compare(Buffer.from(streamSeq), Buffer.from(state.streamSeq)) <= 0) {
        throw new HttpProblem(409, "Stream-Seq must increase");
      }
      const options = { close, ...(producer !== undefined && { producer }), ...(streamSeq !== undefined && { streamSeq }), ...(state !== undefined && { state }) };
      if (!(await streams.write(client, view, payloads, options))) continue;

      streams.touch(view);
      response.setHeader(H.nextOffset, formatOffset(view.tail + payloads.length));
      if (close) response.setHeader(H.closed, "true");
      if (producer !== undefined) {
        response.setHeader(H.producerEpoch, String(producer.epoch));
        response.setHeader(H.producerSeq, String(producer.seq));
        response.statusCode = payloads.length > 0 ? 200 : 204;
      } else {
        response.statusCode = 204;
      }
      response.end();
      return;
    }
    throw new HttpProblem(503, "the stream is being written by others; try again", { "retry-after": "1" });
  });
}
