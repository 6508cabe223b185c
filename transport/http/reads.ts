import type { StreamsClient } from "../../pkg/client/index.js";
import { HttpProblem } from "./headers.js";
import type { DurableStreams, StreamView } from "./streams.js";
import { META } from "./writers.js";

/** Data entries read from one position on, and where the read ended. */
export interface Chunk {
  payloads: Uint8Array[];
  /** Position after the last payload (the `Stream-Next-Offset`). */
  next: number;
}

/**
 * Reads the data entries after position `from` up to position `until` (inclusive), stopping once
 * `maxBytes` are gathered (one entry at least). A fork reads its inherited range from its source
 * chain first, so its reads stitch source and own data with the same offsets (docs/http.md).
 */
export async function readRange(
  streams: DurableStreams,
  client: StreamsClient,
  view: StreamView,
  from: number,
  until: number,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Chunk> {
  const chunk: Chunk = { payloads: [], next: from };
  let bytes = 0;
  const fork = view.meta.fork;
  if (fork !== undefined && from < view.ownStart) {
    const source = await streams.view(client, streams.resolve(fork.path), true);
    if (source === undefined) throw new HttpProblem(500, "a fork's source data is missing");
    const inherited = await readRange(streams, client, source, from, Math.min(until, view.ownStart), maxBytes, signal);
    chunk.payloads.push(...inherited.payloads);
    chunk.next = inherited.next;
    bytes = inherited.payloads.reduce((sum, payload) => sum + payload.byteLength, 0);
    if (chunk.next < view.ownStart || bytes >= maxBytes) return chunk;
  }
  const end = Math.min(until, view.tail);
  if (chunk.next >= end) return chunk;
  const maxSequence = view.meta.base + (end - view.ownStart);
  // A response stops at `maxBytes`, and the server reads ahead of what is taken from a read, so each
  // read asks for about as many entries as the bytes left need, sized by the entries read so far.
  let read = 0;
  let readBytes = 0;
  while (chunk.next < end && bytes < maxBytes) {
    const limit = read === 0 ? FIRST_READ : Math.max(1, Math.ceil((maxBytes - bytes) / Math.max(1, readBytes / read)));
    const minSequence = view.meta.base + (chunk.next - view.ownStart) + 1;
    const query = { space: view.ref.space, segment: view.ref.segment, minSequence, maxSequence, limit, signal };
    let taken = 0;
    for await (const entry of client.consumeSegment(view.ref.storeId, query)) {
      taken++;
      if (entry.metadata[META.close] === "1") return chunk;
      chunk.payloads.push(entry.payload);
      chunk.next = view.ownStart + entry.sequence - view.meta.base;
      bytes += entry.payload.byteLength;
      readBytes += entry.payload.byteLength;
      if (bytes >= maxBytes) break;
    }
    read += taken;
    if (taken < limit) break;
  }
  return chunk;
}

/** Entries a catch-up response's first read asks for; later reads are sized by what it found. */
const FIRST_READ = 256;

/**
 * Waits until the stream's own segment has an entry after its current head (data or the closing
 * marker); resolves false as soon as `signal` ends the wait, without waiting for the read to wind
 * down. A fork waits for its own appends only.
 */
export async function waitForAppend(client: StreamsClient, view: StreamView, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  const stop = new AbortController();
  const query = { space: view.ref.space, segment: view.ref.segment, minSequence: view.head + 1, follow: true, signal: stop.signal };
  const entries = client.consumeSegment(view.ref.storeId, query)[Symbol.asyncIterator]();
  let onAbort = (): void => undefined;
  const aborted = new Promise<boolean>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const appended = entries.next().then(
      (result) => result.done !== true,
      () => false,
    );
    return await Promise.race([appended, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    void entries.return?.().catch(() => undefined);
  }
}
