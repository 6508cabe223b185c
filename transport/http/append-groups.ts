import type { StreamsClient } from "../../pkg/client/index.js";
import { jsonMessages } from "./body.js";
import { HttpProblem, badRequest, isJson, mediaType } from "./headers.js";
import type { StreamRef } from "./meta.js";
import { DurableStreams, type StreamView } from "./streams.js";

/** How a plain append ended: the stream's tail after it, a refusal, or the closed stream it met. */
export type PlainOutcome = { tail: number } | { problem: HttpProblem } | { closed: StreamView };

interface Waiting {
  /** The request's own client: it is closed once the request is answered. */
  client: StreamsClient;
  body: Uint8Array;
  contentType: string | undefined;
  settle(outcome: PlainOutcome): void;
  fail(error: unknown): void;
}

/** What one write of a group carries at most (a single larger append still goes alone). */
const GROUP_APPENDS = 1_000;
const GROUP_BYTES = 1024 * 1024;
/** Compare-and-set attempts while writers on other instances keep moving the head. */
const ATTEMPTS = 50;

/**
 * Plain appends (no producer, no `Stream-Seq`, no close) to one stream that arrive while a write to
 * it runs wait for the next write and go in it together: one batch, one commit (docs/http.md,
 * Appends). Writes to a stream run one at a time on an instance (`DurableStreams.exclusive`), so
 * without this a stream took one synced commit per append however many clients were appending.
 * Appends are grouped only with others sent with the same credentials: a group is written with the
 * client of one of its appends still waiting, so no append is written with rights its sender lacks
 * (and never with the client of a request already answered, which is closed).
 */
export class AppendGroups {
  readonly #waiting = new Map<string, Waiting[]>();

  append(streams: DurableStreams, client: StreamsClient, ref: StreamRef, credentials: string, body: Uint8Array, contentType: string | undefined) {
    const streamKey = `${ref.storeId}\u0000${ref.space}\u0000${ref.segment}`;
    const queueKey = `${streamKey}\u0000${credentials}`;
    return new Promise<PlainOutcome>((settle, fail) => {
      const queue = this.#waiting.get(queueKey);
      const waiting = { client, body, contentType, settle, fail };
      if (queue !== undefined) {
        queue.push(waiting);
        return;
      }
      this.#waiting.set(queueKey, [waiting]);
      this.#schedule(streams, ref, streamKey, queueKey);
    });
  }

  /** A queue in the map has exactly one drain scheduled that has not taken it yet. */
  #schedule(streams: DurableStreams, ref: StreamRef, streamKey: string, queueKey: string): void {
    void streams.exclusive(streamKey, () => this.#drain(streams, ref, streamKey, queueKey));
  }

  async #drain(streams: DurableStreams, ref: StreamRef, streamKey: string, queueKey: string): Promise<void> {
    const queue = this.#waiting.get(queueKey) ?? [];
    let bytes = 0;
    let count = 0;
    while (count < queue.length && count < GROUP_APPENDS && (count === 0 || bytes + (queue[count]?.body.byteLength ?? 0) <= GROUP_BYTES)) {
      bytes += queue[count]?.body.byteLength ?? 0;
      count++;
    }
    const group = queue.splice(0, count);
    if (queue.length === 0) this.#waiting.delete(queueKey);
    else this.#schedule(streams, ref, streamKey, queueKey);
    try {
      await writeGroup(streams, ref, group);
    } catch (error) {
      for (const waiting of group) waiting.fail(error);
    }
  }
}

/** Writes the group's appends as one batch at the head; each append is refused or placed on its own terms. */
async function writeGroup(streams: DurableStreams, ref: StreamRef, group: Waiting[]): Promise<void> {
  let pending = group;
  for (let attempt = 0; attempt < ATTEMPTS && pending.length > 0; attempt++) {
    const view = await streams.view((pending[0] as Waiting).client, ref);
    if (view === undefined) return settleAll(pending, { problem: new HttpProblem(404, "no such stream") });
    if (view.closed) return settleAll(pending, { closed: view });
    const placed: { waiting: Waiting; count: number }[] = [];
    const payloads: Uint8Array[] = [];
    for (const waiting of pending) {
      const messages = payloadsOf(view, waiting);
      if (messages instanceof HttpProblem) {
        waiting.settle({ problem: messages });
        continue;
      }
      payloads.push(...messages);
      placed.push({ waiting, count: messages.length });
    }
    pending = placed.map(({ waiting }) => waiting);
    const writer = placed[0];
    if (writer === undefined) return;
    if (!(await streams.write(writer.waiting.client, view, payloads, { close: false }))) continue;
    streams.touch(view);
    let tail = view.tail;
    for (const { waiting, count } of placed) waiting.settle({ tail: (tail += count) });
    return;
  }
  settleAll(pending, { problem: new HttpProblem(503, "the stream is being written by others; try again", { "retry-after": "1" }) });
}

function payloadsOf(view: StreamView, waiting: Waiting): Uint8Array[] | HttpProblem {
  if (waiting.contentType === undefined) return badRequest("an append needs a Content-Type");
  if (!DurableStreams.sameType(view, waiting.contentType)) return new HttpProblem(409, "Content-Type differs from the stream's");
  if (!isJson(mediaType(view.meta.contentType))) return [waiting.body];
  try {
    return jsonMessages(waiting.body, false);
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
}

function settleAll(group: readonly Waiting[], outcome: PlainOutcome): void {
  for (const waiting of group) waiting.settle(outcome);
}
