import { StreamsError } from "../../pkg/api/index.js";
import type { Entry, Record } from "../../pkg/api/index.js";
import type { StreamsClient } from "../../pkg/client/index.js";
import { HttpProblem, type ProducerHeaders, mediaType } from "./headers.js";
import { expired, loadMeta, type MetaVersion, type StreamMeta, type StreamRef, storeMeta, streamKey, updateMeta } from "./meta.js";
import { META, WriterState, WriterStates } from "./writers.js";

/** A stream as one request sees it: its state record, its data segment's head, and positions. */
export interface StreamView {
  ref: StreamRef;
  key: string;
  meta: StreamMeta;
  version: number;
  /** Head sequence of the data segment. */
  head: number;
  closed: boolean;
  /** The producer tuple that closed the stream, when one did. */
  closer: ProducerHeaders | undefined;
  /** Position of the first own data entry minus one (a fork's inherited entries come first). */
  ownStart: number;
  /** The tail position: data entries in the stream, inherited ones included. */
  tail: number;
}

/** Resolves a stream path (as `Stream-Forked-From` names it) to where it lives. */
export type Resolve = (path: string) => StreamRef;

/**
 * The Durable Streams model over a store's segments (docs/http.md). Every read and write goes through
 * a StreamsClient, so scopes, limits, live notifications and every backend apply as on the WebSocket.
 */
export class DurableStreams {
  readonly writers = new WriterStates();
  /** When each stream was last read or written on this instance (sliding TTLs). */
  readonly #lastUse = new Map<string, number>();
  /** Writes to one stream from this instance run one at a time, so they do not race each other's compare-and-set. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly resolve: Resolve,
    readonly now: () => number = Date.now,
  ) {}

  async exclusive<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const result = previous.then(run, run);
    const tail = result.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return result;
  }

  touch(view: StreamView): void {
    const key = `${view.key}\u0000${view.version}`;
    this.#lastUse.delete(key);
    this.#lastUse.set(key, this.now());
    if (this.#lastUse.size > 100_000) this.#lastUse.delete(this.#lastUse.keys().next().value as string);
  }

  /**
   * The stream at `ref` as clients see it: undefined when it does not exist (or has expired, which
   * deletes it); a soft-deleted stream is `410 Gone` unless `internal` (a fork reading its source).
   */
  async view(client: StreamsClient, ref: StreamRef, internal = false): Promise<StreamView | undefined> {
    // The data's head is read beside the state record, not after it: a head read a moment early only
    // makes the view a moment older (a write at it is a compare-and-set, a read ends a little sooner).
    const [current, last] = await Promise.all([loadMeta(client, ref), client.peek(ref.storeId, ref.space, ref.segment)]);
    const { meta } = current;
    if (meta === undefined || meta.life === "deleted") return undefined;
    if (meta.life === "soft-deleted" && !internal) throw new HttpProblem(410, "stream was deleted");
    if (!internal && meta.life === "open") {
      const lastUse = this.#lastUse.get(`${streamKey(ref)}\u0000${current.version}`) ?? meta.createdAt;
      if (expired(meta, lastUse, this.now())) {
        await this.remove(client, ref);
        return undefined;
      }
    }
    return viewOf(ref, current as MetaVersion & { meta: StreamMeta }, last);
  }

  /** Creates the stream's state record at `version` (after a deleted or no record); false if another write won. */
  async createRecord(client: StreamsClient, ref: StreamRef, version: number, meta: Omit<StreamMeta, "base" | "createdAt" | "refs" | "life">) {
    const last = await client.peek(ref.storeId, ref.space, ref.segment);
    const record: StreamMeta = { ...meta, base: last.sequence, createdAt: this.now(), refs: 0, life: "open" };
    return (await storeMeta(client, ref, version, record)) ? record : undefined;
  }

  /**
   * Appends `payloads` (and a closing marker when `close`) at the head the view saw, as one batch
   * with the writer state on its last entry. Resolves to false when another writer got there first.
   */
  async write(
    client: StreamsClient,
    view: StreamView,
    payloads: readonly Uint8Array[],
    options: { close?: boolean; producer?: ProducerHeaders; streamSeq?: string; state?: WriterState },
  ): Promise<boolean> {
    const records = payloads.map((payload, i): Record => ({ sequence: view.head + 1 + i, payload, metadata: {} }));
    if (options.close === true) records.push({ sequence: view.head + 1 + payloads.length, payload: new Uint8Array(0), metadata: { [META.close]: "1" } });
    const last = records.at(-1);
    if (last === undefined) return true;
    last.metadata = { ...last.metadata, ...WriterState.record(options.producer, options.streamSeq) };
    try {
      await client.produce(view.ref.storeId, view.ref.space, view.ref.segment, records, { batchSize: records.length });
    } catch (error) {
      if (error instanceof StreamsError && error.kind === "sequence_conflict") return false;
      if (error instanceof StreamsError && error.kind === "failed_precondition") {
        throw new HttpProblem(409, "stream is closed", { "stream-closed": "true" });
      }
      throw error;
    }
    if (options.state !== undefined) {
      this.writers.committed(view.key, view.meta.base, options.state, view.head + 1, { sequence: last.sequence, metadata: last.metadata ?? {} });
    }
    return true;
  }

  /** Deletes a stream: soft while forks read it, else for good (and releases its own source). */
  async remove(client: StreamsClient, ref: StreamRef): Promise<"deleted" | "soft-deleted" | "missing" | "gone"> {
    const outcome: { value: "deleted" | "soft-deleted" | "missing" | "gone" } = { value: "missing" };
    const meta = await updateMeta(client, ref, ({ meta }) => {
      if (meta === undefined || meta.life === "deleted") {
        outcome.value = "missing";
        return undefined;
      }
      if (meta.life === "soft-deleted") {
        outcome.value = "gone";
        return undefined;
      }
      const life = meta.refs > 0 ? "soft-deleted" : "deleted";
      outcome.value = life;
      return { ...meta, life };
    });
    if (outcome.value === "deleted" && meta?.fork !== undefined) await this.release(client, this.resolve(meta.fork.path));
    return outcome.value;
  }

  /** Drops a fork's reference to its source; a soft-deleted source with no forks left goes, and so on up the chain. */
  async release(client: StreamsClient, ref: StreamRef): Promise<void> {
    let gone = false;
    const meta = await updateMeta(client, ref, ({ meta }) => {
      if (meta === undefined || meta.life === "deleted") return undefined;
      const refs = Math.max(0, meta.refs - 1);
      gone = refs === 0 && meta.life === "soft-deleted";
      return { ...meta, refs, life: gone ? "deleted" : meta.life };
    });
    if (gone && meta?.fork !== undefined) await this.release(client, this.resolve(meta.fork.path));
  }

  /** Adds a fork's reference to its source; false when the source is gone or soft-deleted meanwhile. */
  async retain(client: StreamsClient, ref: StreamRef): Promise<boolean> {
    let ok = false;
    await updateMeta(client, ref, ({ meta }) => {
      ok = meta !== undefined && meta.life === "open";
      return ok && meta !== undefined ? { ...meta, refs: meta.refs + 1 } : undefined;
    });
    return ok;
  }

  /** Whether a request's content type matches the stream's (media types compare case-insensitively). */
  static sameType(view: StreamView, contentType: string | undefined): boolean {
    return mediaType(contentType) === mediaType(view.meta.contentType);
  }
}

/** The stream as its state record and its data segment's last entry show it. */
function viewOf(ref: StreamRef, current: MetaVersion & { meta: StreamMeta }, last: Entry): StreamView {
  const { meta, version } = current;
  const head = Math.max(last.sequence, meta.base);
  const closed = head > meta.base && last.metadata[META.close] === "1";
  const producer = closed ? last.metadata[META.producer] : undefined;
  const closer = producer !== undefined ? { id: producer, epoch: Number(last.metadata[META.epoch]), seq: Number(last.metadata[META.seq]) } : undefined;
  const ownStart = meta.fork?.position ?? 0;
  return { ref, key: streamKey(ref), meta, version, head, closed, closer, ownStart, tail: ownStart + head - meta.base - (closed ? 1 : 0) };
}
