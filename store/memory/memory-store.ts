import { v4 as uuidv4 } from "uuid";
import type { LeaseResult, Record, SegmentStatus } from "../../pkg/api/index.js";
import { Heads } from "../heads.js";
import { HeadsStore } from "../heads-store.js";
import type { LeaseDecision } from "../leases.js";
import { segmentBounds, spaceBounds, type TimeBounds } from "../read-bounds.js";
import type { SegmentRange, SpaceRange, StoredEntry, StoreFeatures } from "../types.js";
import { MemoryLeases } from "./memory-leases.js";

interface SpaceEntries {
  /** Every entry of the space in commit order: index i holds position i + 1. */
  entries: StoredEntry[];
  /** Each segment's entries in sequence order: index i holds sequence i + 1. */
  segments: Map<string, StoredEntry[]>;
}

/** One store's data, owned by the factory so that it outlives a close and reopen. */
export class MemoryStoreData {
  readonly heads = new Heads();
  readonly spaces = new Map<string, SpaceEntries>();
  readonly leases = new MemoryLeases();
}

const FEATURES: StoreFeatures = { reopen: true, durable: false };

/** A store kept in memory: same semantics as the durable backends, nothing survives the process. */
export class MemoryStore extends HeadsStore {
  readonly #data: MemoryStoreData;
  readonly #nodeId: string;

  constructor(storeId: string, data: MemoryStoreData, nodeId: string) {
    super(storeId, FEATURES, data.heads);
    this.#data = data;
    this.#nodeId = nodeId;
  }

  protected async _produce(space: string, segment: string, records: readonly Record[]): Promise<SegmentStatus> {
    // Placing and appending happen in one synchronous step, so writes to a segment are serialized.
    const placement = this.#data.heads.place(space, segment, records, Date.now());
    const trx = { id: uuidv4(), node: this.#nodeId, number: placement.trxNumber };
    const target = this.#spaceEntries(space);
    let segmentEntries = target.segments.get(segment);
    if (segmentEntries === undefined) {
      segmentEntries = [];
      target.segments.set(segment, segmentEntries);
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as Record;
      const entry: StoredEntry = {
        space,
        segment,
        sequence: placement.firstSequence + i,
        timestamp: placement.timestamp,
        trx,
        // Copies, so a caller reusing its buffers cannot change what was stored.
        payload: record.payload.slice(),
        metadata: { ...record.metadata },
        position: placement.firstPosition + i,
      };
      segmentEntries.push(entry);
      target.entries.push(entry);
    }
    return placement.status;
  }

  protected async _publish(
    space: string,
    segment: string,
    payload: Uint8Array,
    metadata: { [key: string]: string },
  ): Promise<SegmentStatus> {
    const sequence = this.#data.heads.nextSequence(space, segment);
    return this._produce(space, segment, [{ sequence, payload, metadata }]);
  }

  protected _readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry> {
    return eachOf(this._readSegmentChunks(range));
  }

  protected override _readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    const bounds = segmentBounds(range);
    const entries = this.#data.spaces.get(range.space)?.segments.get(range.segment);
    const end = (entry: StoredEntry): boolean => entry.sequence > bounds.maxSequence;
    return readChunks(bounds.empty ? undefined : entries, bounds.minSequence - 1, bounds, end);
  }

  protected _readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    return eachOf(this._readSpaceChunks(range));
  }

  protected override _readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    const bounds = spaceBounds(range);
    const entries = this.#data.spaces.get(range.space)?.entries;
    return readChunks(bounds.empty ? undefined : entries, bounds.afterPosition, bounds, () => false);
  }

  protected async _peek(space: string, segment: string): Promise<StoredEntry | undefined> {
    return this.#data.spaces.get(space)?.segments.get(segment)?.at(-1);
  }

  protected async _updateLease(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    return this.#data.leases.update(key, decide);
  }

  protected async _close(): Promise<void> {
    // Nothing is held: the data stays with the factory for the next open.
  }

  #spaceEntries(space: string): SpaceEntries {
    let target = this.#data.spaces.get(space);
    if (target === undefined) {
      target = { entries: [], segments: new Map() };
      this.#data.spaces.set(space, target);
    }
    return target;
  }
}

/** Entries per chunk a read yields. */
const CHUNK = 512;

/**
 * Yields `entries` from index `start` within the time bounds and limit, in chunks. Timestamps are
 * non-decreasing along both arrays, so the read stops at the first entry past `maxTimestamp` (or past
 * `end`). Each chunk is taken synchronously, so it is one consistent view of the arrays.
 */
async function* readChunks(
  entries: readonly StoredEntry[] | undefined,
  start: number,
  bounds: TimeBounds,
  end: (entry: StoredEntry) => boolean,
): AsyncIterableIterator<StoredEntry[]> {
  if (entries === undefined) return;
  let count = 0;
  let i = start;
  while (i < entries.length && count < bounds.limit) {
    const chunk: StoredEntry[] = [];
    for (; i < entries.length && count < bounds.limit && chunk.length < CHUNK; i++) {
      const entry = entries[i] as StoredEntry;
      if (end(entry) || entry.timestamp > bounds.maxTimestamp) {
        if (chunk.length > 0) yield chunk;
        return;
      }
      if (entry.timestamp < bounds.minTimestamp) continue;
      count++;
      chunk.push(entry);
    }
    if (chunk.length > 0) yield chunk;
  }
}

async function* eachOf(chunks: AsyncIterable<StoredEntry[]>): AsyncIterableIterator<StoredEntry> {
  for await (const chunk of chunks) yield* chunk;
}
