import type { Entry } from "../../pkg/api/index.js";
import { PRODUCER_METADATA } from "../../pkg/api/internal/index.js";
import type { StreamsClient } from "../../pkg/client/index.js";
import type { ProducerHeaders } from "./headers.js";
import type { StreamRef } from "./meta.js";

/**
 * Entry metadata the HTTP mapping writes (docs/http.md). The writer state of a stream — idempotent
 * producers and the `Stream-Seq` high mark — lives in the metadata of the entries it appended, so it
 * commits with them in one batch and every instance can rebuild it from the data.
 */
export const META = {
  /** On the entry that closes the stream (empty payload, not data). */
  close: "ds.close",
  // The idempotent-producer stamp, the same keys as the WebSocket's idempotent publish (one dedupe state).
  producer: PRODUCER_METADATA.producer,
  epoch: PRODUCER_METADATA.epoch,
  seq: PRODUCER_METADATA.sequence,
  streamSeq: "ds.stream-seq",
} as const;

export interface ProducerState {
  epoch: number;
  seq: number;
}

/** A stream's writer state as of sequence `scanned` of its data segment. */
export class WriterState {
  readonly producers = new Map<string, ProducerState>();
  streamSeq: string | undefined;

  constructor(public scanned: number) {}

  apply(entry: Pick<Entry, "sequence" | "metadata">): void {
    this.scanned = entry.sequence;
    const { metadata } = entry;
    const producer = metadata[META.producer];
    if (producer !== undefined) {
      this.producers.set(producer, { epoch: Number(metadata[META.epoch]), seq: Number(metadata[META.seq]) });
    }
    const streamSeq = metadata[META.streamSeq];
    if (streamSeq !== undefined) this.streamSeq = streamSeq;
  }

  /** The metadata that records a batch's writer state on its last entry. */
  static record(producer: ProducerHeaders | undefined, streamSeq: string | undefined): { [key: string]: string } {
    const metadata: { [key: string]: string } = {};
    if (producer !== undefined) {
      metadata[META.producer] = producer.id;
      metadata[META.epoch] = String(producer.epoch);
      metadata[META.seq] = String(producer.seq);
    }
    if (streamSeq !== undefined) metadata[META.streamSeq] = streamSeq;
    return metadata;
  }
}

const MAX_CACHED = 10_000;

/**
 * Writer states of recently written streams, brought up to a segment's head by reading only the
 * entries after what they have seen. Bounded: the least recently used state goes (it is rebuilt from
 * the data when needed).
 */
export class WriterStates {
  readonly #states = new Map<string, WriterState>();

  async current(client: StreamsClient, ref: StreamRef, key: string, base: number, head: number): Promise<WriterState> {
    const cacheKey = `${key}\u0000${base}`;
    let state = this.#states.get(cacheKey);
    if (state === undefined || state.scanned > head) state = new WriterState(base);
    this.#states.delete(cacheKey);
    this.#states.set(cacheKey, state);
    if (this.#states.size > MAX_CACHED) this.#states.delete(this.#states.keys().next().value as string);
    if (state.scanned < head) {
      const query = { space: ref.space, segment: ref.segment, minSequence: state.scanned + 1, maxSequence: head };
      for await (const entry of client.consumeSegment(ref.storeId, query)) state.apply(entry);
    }
    return state;
  }

  /** Records a batch this instance committed, so the next write need not read it back. */
  committed(key: string, base: number, state: WriterState, first: number, last: Pick<Entry, "sequence" | "metadata">): void {
    if (this.#states.get(`${key}\u0000${base}`) === state && state.scanned === first - 1) state.apply(last);
  }
}
