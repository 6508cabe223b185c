import { randomUUID } from "node:crypto";
import { compareNames, type LeaseResult, notFound, type Record, type Retention, type SegmentStatus } from "../../pkg/api/internal/index.js";
import { Heads, type SegmentHead, statusOf } from "../heads.js";
import { HeadsStore } from "../heads-store.js";
import type { LeaseDecision, LeasePage } from "../leases.js";
import { closedHead, deletedHead, segmentOutOfRange, truncatedHead } from "../lifecycle.js";
import { segmentBounds, spaceBounds, type TimeBounds } from "../read-bounds.js";
import type { LeaseInfo, SegmentRange, SpaceRange, StoredEntry, StoreFeatures, StoreOptions, StoreUsage } from "../types.js";
import { MemoryLeases } from "./memory-leases.js";

interface SpaceEntries {
  /** The space's kept entries in commit order (positions increasing, with holes where entries were removed). */
  entries: StoredEntry[];
  /** Each segment's kept entries in sequence order, from its first kept sequence, without holes. */
  segments: Map<string, StoredEntry[]>;
}

/** One store's data, owned by the factory so that it outlives a close and reopen. */
export class MemoryStoreData {
  readonly heads = new Heads();
  readonly spaces = new Map<string, SpaceEntries>();
  leases = new MemoryLeases();
  readonly retentions = new Map<string, Retention>();
  /** Payload bytes kept. */
  bytes = 0;

  /** Forgets everything: what deleting the store leaves. */
  clear(): void {
    this.heads.clear();
    this.spaces.clear();
    this.leases = new MemoryLeases();
    this.retentions.clear();
    this.bytes = 0;
  }
}

const FEATURES: StoreFeatures = { reopen: true, durable: false, lifecycle: true };

/** A store kept in memory: same semantics as the durable backends, nothing survives the process. */
export class MemoryStore extends HeadsStore {
  readonly #data: MemoryStoreData;
  readonly #nodeId: string;

  constructor(storeId: string, data: MemoryStoreData, nodeId: string, options: StoreOptions = {}) {
    super(storeId, FEATURES, data.heads, options);
    this.#data = data;
    this.#nodeId = nodeId;
  }

  protected async _produce(space: string, segment: string, records: readonly Record[]): Promise<SegmentStatus> {
    // Placing and appending happen in one synchronous step, so writes to a segment are serialized.
    const placement = this.#data.heads.place(space, segment, records, Date.now());
    const trx = { id: randomUUID(), node: this.#nodeId, number: placement.trxNumber };
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
      this.#data.bytes += entry.payload.byteLength;
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
    const { space, segment } = range;
    let next = bounds.minSequence;
    const cursor: Cursor = {
      locate: () => {
        // Entries removed since the read began are not skipped: the read fails (docs/lifecycle.md).
        const first = this.#data.heads.segmentHead(space, segment)?.firstSequence ?? 1;
        if (next < first) throw segmentOutOfRange(space, segment, next, first);
        const entries = this.#data.spaces.get(space)?.segments.get(segment);
        return entries === undefined ? undefined : { entries, index: next - ((entries[0])?.sequence ?? next) };
      },
      passed: (entry) => {
        next = entry.sequence + 1;
      },
    };
    return readChunks(cursor, bounds, (entry) => entry.sequence > bounds.maxSequence);
  }

  protected _readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    return eachOf(this._readSpaceChunks(range));
  }

  protected override _readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    const bounds = spaceBounds(range);
    let after = bounds.afterPosition;
    const cursor: Cursor = {
      locate: () => {
        const entries = this.#data.spaces.get(range.space)?.entries;
        return entries === undefined ? undefined : { entries, index: firstAfter(entries, after) };
      },
      passed: (entry) => {
        after = entry.position;
      },
    };
    return readChunks(cursor, bounds, () => false);
  }

  protected async _peek(space: string, segment: string): Promise<StoredEntry | undefined> {
    return this.#data.spaces.get(space)?.segments.get(segment)?.at(-1);
  }

  protected async _updateLease(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    return this.#data.leases.update(key, decide);
  }

  protected async _listLeases(page: LeasePage): Promise<LeaseInfo[]> {
    return this.#data.leases.list(page);
  }

  protected override async _deleteSegment(space: string, segment: string, purge: boolean): Promise<SegmentStatus> {
    const status = this.#change(space, segment, deletedHead);
    if (purge) this.#forget(space, segment);
    return status;
  }

  protected override async _deleteSpace(space: string, purge: boolean): Promise<SegmentStatus[]> {
    const segments = purge ? [...(this.#data.heads.spaces.get(space)?.segments.keys() ?? [])].sort(compareNames) : this.#data.heads.listSegments(space);
    if (segments.length === 0) throw notFound(`space ${space} has no segments`);
    return Promise.all(segments.map((segment) => this._deleteSegment(space, segment, purge)));
  }

  /** A hard purge: the tombstone goes too (its entries are gone already). */
  #forget(space: string, segment: string): void {
    this.#data.heads.removeSegment(space, segment);
    this.#data.spaces.get(space)?.segments.delete(segment);
  }

  protected override async _deleteStore(): Promise<void> {
    this.#data.clear();
    await this.close();
  }

  protected override async _truncateSegment(space: string, segment: string, beforeSequence: number): Promise<SegmentStatus> {
    return this.#change(space, segment, (head) => {
      const entries = this.#data.spaces.get(space)?.segments.get(segment) ?? [];
      const base = entries[0]?.sequence ?? head.firstSequence;
      return truncatedHead(head, beforeSequence, (sequence) => {
        const entry = entries[sequence - base] as StoredEntry;
        return { timestamp: entry.timestamp, position: entry.position };
      });
    });
  }

  protected override async _closeSegment(space: string, segment: string): Promise<SegmentStatus> {
    return this.#change(space, segment, closedHead);
  }

  protected override async _setRetention(space: string, retention: Retention): Promise<void> {
    if (Object.keys(retention).length === 0) this.#data.retentions.delete(space);
    else this.#data.retentions.set(space, retention);
  }

  protected override async _retentions(): Promise<Map<string, Retention>> {
    return new Map(this.#data.retentions);
  }

  protected override async _usage(): Promise<StoreUsage> {
    return { entries: this.#data.heads.entryCount(), bytes: this.#data.bytes };
  }

  /**
   * Applies a lifecycle change to an existing segment (deleted ones only to delete again), then drops
   * the entries below its new first sequence. One synchronous step, like a produce.
   */
  #change(space: string, segment: string, change: (head: SegmentHead) => SegmentHead): SegmentStatus {
    const head = this.#data.heads.segmentHead(space, segment);
    if (head === undefined || (head.deleted === true && change !== deletedHead)) throw notFound(`segment ${segment} of space ${space} does not exist`);
    const next = change(head);
    if (next !== head) {
      this.#data.heads.setSegment(space, segment, next);
      this.#removeBelow(space, segment, next.firstSequence);
    }
    return statusOf(space, segment, next);
  }

  #removeBelow(space: string, segment: string, firstSequence: number): void {
    const target = this.#data.spaces.get(space);
    const entries = target?.segments.get(segment);
    if (target === undefined || entries === undefined) return;
    const removed = Math.min(Math.max(firstSequence - (entries[0]?.sequence ?? firstSequence), 0), entries.length);
    if (removed === 0) return;
    for (let i = 0; i < removed; i++) this.#data.bytes -= (entries[i] as StoredEntry).payload.byteLength;
    entries.splice(0, removed);
    target.entries = target.entries.filter((entry) => entry.segment !== segment || entry.sequence >= firstSequence);
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

/** Index of the first entry after `position` in commit order (binary search: positions increase). */
function firstAfter(entries: readonly StoredEntry[], position: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((entries[middle] as StoredEntry).position <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Entries per chunk a read yields. */
const CHUNK = 512;

/** Where a read is: it finds its place again before each chunk, since removals shift the arrays. */
interface Cursor {
  /** The entries to read and the index of the next one, or undefined when there are none; throws `out_of_range`. */
  locate(): { entries: readonly StoredEntry[]; index: number } | undefined;
  /** Records the last entry read past (taken or skipped). */
  passed(entry: StoredEntry): void;
}

/**
 * Yields entries from the cursor within the time bounds and limit, in chunks. Timestamps are
 * non-decreasing along both arrays, so the read stops at the first entry past `maxTimestamp` (or past
 * `end`). Each chunk is taken synchronously, so it is one consistent view of the arrays.
 */
async function* readChunks(cursor: Cursor, bounds: TimeBounds, end: (entry: StoredEntry) => boolean): AsyncIterableIterator<StoredEntry[]> {
  if (bounds.empty) return;
  let count = 0;
  while (count < bounds.limit) {
    const place = cursor.locate();
    if (place === undefined || place.index >= place.entries.length) return;
    const { entries } = place;
    const chunk: StoredEntry[] = [];
    for (let i = place.index; i < entries.length && count < bounds.limit && chunk.length < CHUNK; i++) {
      const entry = entries[i] as StoredEntry;
      if (end(entry) || entry.timestamp > bounds.maxTimestamp) {
        if (chunk.length > 0) yield chunk;
        return;
      }
      cursor.passed(entry);
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
