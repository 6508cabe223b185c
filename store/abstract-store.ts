import {
  assertName,
  checkBytes,
  checkMetadata,
  checkRecord,
  checkRetention,
  checkSequence,
  failedPrecondition,
  invalidArgument,
  type LeaseResult,
  normalizeRetention,
  checkProducer,
  type Producer,
  type Record,
  type Retention,
  type SegmentStatus,
  StreamsError,
  type StoreStatus,
  sequenceConflict,
} from "../pkg/api/internal/index.js";
import { acquireDecision, checkLeaseTtl, type LeaseDecision, leasePage, type LeasePage, releaseDecision, renewDecision } from "./leases.js";
import { retentionStart, segmentOutOfRange, spaceOutOfRange } from "./lifecycle.js";
import { ProducerIndex } from "./producers.js";
import { segmentBounds, spaceBounds } from "./read-bounds.js";
import type { DeleteOptions, LeaseInfo, LeaseListOptions, ProduceChain, StoreOptions, SegmentRange, SpaceRange, Store, StoredEntry, StoreFeatures, StoreUsage, SweepOptions, SweepResult } from "./types.js";

/**
 * Base of every backend, in the manner of abstract-level: public methods validate their arguments
 * and the store's state, then call the backend's `_method`. Backends implement only the `_` methods.
 */
export abstract class AbstractStore implements Store {
  #closing: Promise<void> | undefined;
  readonly #producers: ProducerIndex;
  /** Purges made through this store object: the incarnation of `_segmentHead`'s default. */
  #purges = 0;

  protected constructor(
    readonly storeId: string,
    readonly features: StoreFeatures,
    options: StoreOptions = {},
  ) {
    this.#producers = new ProducerIndex(options.maxProducers ?? DEFAULT_MAX_PRODUCERS, {
      produce: (space, segment, records) => this.produce(space, segment, records),
      readSegment: (range) => this.readSegment(range),
      segmentHead: (space, segment) => this._segmentHead(space, segment),
    });
  }

  protected get closed(): boolean {
    return this.#closing !== undefined;
  }

  async produce(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus> {
    if (chain?.failure !== undefined) throw chain.failure;
    try {
      assertName(space, "space");
      assertName(segment, "segment");
      if (!Array.isArray(records) || records.length === 0) throw invalidArgument("records", "must be a non-empty array");
      for (let i = 0; i < records.length; i++) checkRecord(records[i], `records[${i}]`);
      this.#assertOpen();
    } catch (error) {
      if (chain !== undefined) chain.failure = error;
      throw error;
    }
    if (chain === undefined) return this._produce(space, segment, records);
    try {
      return await this._produce(space, segment, records, chain);
    } catch (error) {
      // Backends that place at call time mark the chain at once; this covers the others (ProduceChain).
      chain.failure ??= error;
      throw error;
    }
  }

  async publish(space: string, segment: string, payload: Uint8Array, metadata?: { [key: string]: string }, producer?: Producer): Promise<SegmentStatus> {
    assertName(space, "space");
    assertName(segment, "segment");
    checkBytes(payload, "payload");
    if (metadata !== undefined) checkMetadata(metadata, "metadata");
    if (producer !== undefined) checkProducer(producer, "producer");
    this.#assertOpen();
    if (producer !== undefined) return this.#producers.publish(space, segment, payload, metadata ?? {}, producer);
    return this._publish(space, segment, payload, metadata ?? {});
  }

  readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry> {
    return this._readSegment(this.#segmentRead(range));
  }

  readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    return this._readSpace(this.#spaceRead(range));
  }

  readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    return this._readSegmentChunks(this.#segmentRead(range));
  }

  readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    return this._readSpaceChunks(this.#spaceRead(range));
  }

  /**
   * Checks a segment read and starts it at the first kept entry: from the start (minSequence 0) that
   * is where it begins; a minSequence inside a removed range is `out_of_range` (docs/lifecycle.md).
   */
  #segmentRead(range: SegmentRange): SegmentRange {
    assertName(range.space, "space");
    assertName(range.segment, "segment");
    const { minSequence } = segmentBounds(range);
    this.#assertOpen();
    const first = this._firstSequence(range.space, range.segment);
    if (first <= minSequence) return range;
    if ((range.minSequence ?? 0) > 0) throw segmentOutOfRange(range.space, range.segment, minSequence, first);
    return { ...range, minSequence: first };
  }

  /** Checks a space read: resuming after a position before the first kept entry is `out_of_range`. */
  #spaceRead(range: SpaceRange): SpaceRange {
    assertName(range.space, "space");
    const { afterPosition } = spaceBounds(range);
    this.#assertOpen();
    const first = this._firstPosition(range.space);
    if (first <= afterPosition + 1) return range;
    if (afterPosition > 0) throw spaceOutOfRange(range.space, first);
    return { ...range, afterPosition: first - 1 };
  }

  async peek(space: string, segment: string): Promise<StoredEntry | undefined> {
    assertName(space, "space");
    assertName(segment, "segment");
    this.#assertOpen();
    return this._peek(space, segment);
  }

  async segmentStatus(space: string, segment: string): Promise<SegmentStatus | undefined> {
    assertName(space, "space");
    assertName(segment, "segment");
    this.#assertOpen();
    return this._segmentStatus(space, segment);
  }

  async segmentStatuses(space: string): Promise<SegmentStatus[]> {
    assertName(space, "space");
    this.#assertOpen();
    return this._segmentStatuses(space);
  }

  async listSpaces(): Promise<string[]> {
    this.#assertOpen();
    return this._listSpaces();
  }

  async listSegments(space: string): Promise<string[]> {
    assertName(space, "space");
    this.#assertOpen();
    return this._listSegments(space);
  }

  async status(): Promise<StoreStatus> {
    this.#assertOpen();
    return this._status();
  }

  async acquireLease(key: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    assertName(key, "key");
    assertName(holder, "holder");
    checkLeaseTtl(ttlMs);
    this.#assertOpen();
    return this._updateLease(key, acquireDecision(holder, ttlMs));
  }

  async renewLease(key: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    assertName(key, "key");
    assertName(holder, "holder");
    checkLeaseTtl(ttlMs);
    this.#assertOpen();
    return this._updateLease(key, renewDecision(holder, ttlMs));
  }

  async releaseLease(key: string, holder: string): Promise<LeaseResult> {
    assertName(key, "key");
    assertName(holder, "holder");
    this.#assertOpen();
    return this._updateLease(key, releaseDecision(holder));
  }

  async listLeases(options?: LeaseListOptions): Promise<LeaseInfo[]> {
    const page = leasePage(options);
    this.#assertOpen();
    return this._listLeases(page);
  }

  async deleteSegment(space: string, segment: string, options?: DeleteOptions): Promise<SegmentStatus> {
    assertName(space, "space");
    assertName(segment, "segment");
    const purge = purgeOf(options);
    this.#assertLifecycle();
    const tombstone = await this._deleteSegment(space, segment, purge);
    if (purge) this.#purges++;
    return tombstone;
  }

  async deleteSpace(space: string, options?: DeleteOptions): Promise<SegmentStatus[]> {
    assertName(space, "space");
    const purge = purgeOf(options);
    this.#assertLifecycle();
    const tombstones = await this._deleteSpace(space, purge);
    if (purge) this.#purges++;
    return tombstones;
  }

  async deleteStore(): Promise<void> {
    this.#assertLifecycle();
    await this._deleteStore();
  }

  async truncateSegment(space: string, segment: string, beforeSequence: number): Promise<SegmentStatus> {
    assertName(space, "space");
    assertName(segment, "segment");
    checkSequence(beforeSequence, "beforeSequence");
    this.#assertLifecycle();
    return this._truncateSegment(space, segment, beforeSequence);
  }

  async closeSegment(space: string, segment: string): Promise<SegmentStatus> {
    assertName(space, "space");
    assertName(segment, "segment");
    this.#assertLifecycle();
    return this._closeSegment(space, segment);
  }

  async setRetention(space: string, retention: Retention): Promise<void> {
    assertName(space, "space");
    checkRetention(retention, "retention");
    this.#assertLifecycle();
    await this._setRetention(space, normalizeRetention(retention));
  }

  async getRetention(space: string): Promise<Retention> {
    assertName(space, "space");
    this.#assertLifecycle();
    return (await this._retentions()).get(space) ?? {};
  }

  /**
   * One retention sweep: every segment of every space with a retention truncated to what it keeps.
   * A segment that fails (a concurrent delete, say) is left for the next sweep.
   */
  async enforceRetention(options: SweepOptions = {}): Promise<SweepResult> {
    this.#assertLifecycle();
    const now = options.now ?? Date.now();
    const result: SweepResult = { segments: 0, entries: 0 };
    const retentions = new Map([...(options.defaults ?? []), ...(await this._retentions())]);
    for (const [space, retention] of retentions) {
      for (const status of await this.segmentStatuses(space)) {
        if (this.closed || options.signal?.aborted === true) return result;
        try {
          const start = await retentionStart(this, status, retention, now);
          if (start <= status.firstSequence) continue;
          const after = await this._truncateSegment(space, status.segment, start);
          options.onTruncated?.(after);
          result.segments++;
          result.entries += after.firstSequence - status.firstSequence;
        } catch (error) {
          if (!(error instanceof StreamsError) || error.kind === "unavailable") throw error;
        }
      }
    }
    return result;
  }

  async usage(): Promise<StoreUsage> {
    this.#assertOpen();
    return this._usage();
  }

  close(): Promise<void> {
    this.#closing ??= this._close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new StreamsError("unavailable", `store ${this.storeId} is closed`);
  }

  #assertLifecycle(): void {
    this.#assertOpen();
    if (this.features.lifecycle !== true) throw failedPrecondition("this storage backend does not support delete, truncate, close or retention");
  }

  /**
   * A segment's status and its incarnation, read together (docs/design.md, Idempotent publish): the
   * incarnation differs once the segment was purged, so the producer index never uses what it read
   * of the segment before. Backends whose segments another instance may purge override it; this
   * default counts the purges made through this object (read before the status, counted after a purge
   * is done, so a status read before a purge never gets the incarnation of after it).
   */
  protected async _segmentHead(space: string, segment: string): Promise<{ status: SegmentStatus | undefined; incarnation: number }> {
    const incarnation = this.#purges;
    return { status: await this._segmentStatus(space, segment), incarnation };
  }

  /** First kept sequence of a segment (1 when nothing was removed). Backends that remove entries override it. */
  protected _firstSequence(_space: string, _segment: string): number {
    return 1;
  }

  /** First kept commit position of a space (1 when nothing was removed). */
  protected _firstPosition(_space: string): number {
    return 1;
  }

  // Lifecycle operations of backends that declare `features.lifecycle` (docs/lifecycle.md); the
  // public methods refuse them with failed_precondition on other backends, so these are never reached.
  /** With `purge`, forgets the segment (tombstone included; a deleted one too). */
  protected _deleteSegment(_space: string, _segment: string, _purge: boolean): Promise<SegmentStatus> {
    return Promise.reject(unsupported());
  }
  /** With `purge`, forgets every segment of the space, deleted ones too. */
  protected _deleteSpace(_space: string, _purge: boolean): Promise<SegmentStatus[]> {
    return Promise.reject(unsupported());
  }
  protected _deleteStore(): Promise<void> {
    return Promise.reject(unsupported());
  }
  protected _truncateSegment(_space: string, _segment: string, _beforeSequence: number): Promise<SegmentStatus> {
    return Promise.reject(unsupported());
  }
  protected _closeSegment(_space: string, _segment: string): Promise<SegmentStatus> {
    return Promise.reject(unsupported());
  }
  protected _setRetention(_space: string, _retention: Retention): Promise<void> {
    return Promise.reject(unsupported());
  }
  /** Every space's retention (spaces without one left out). */
  protected _retentions(): Promise<Map<string, Retention>> {
    return Promise.reject(unsupported());
  }
  /** Kept entries and stored bytes; by default the entry counts of `status()` and no byte count. */
  protected async _usage(): Promise<StoreUsage> {
    const status = await this._status();
    return { entries: status.spaces.reduce((sum, space) => sum + space.entryCount, 0), bytes: 0 };
  }

  /** A backend declaring `pipelinedProduce` sets `chain.failure` as it places a failing batch; produce() sets it after any failure too (ProduceChain). */
  protected abstract _produce(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus>;
  protected abstract _publish(
    space: string,
    segment: string,
    payload: Uint8Array,
    metadata: { [key: string]: string },
  ): Promise<SegmentStatus>;
  protected abstract _readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry>;
  protected abstract _readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry>;

  /** Backends that scan in chunks override these; by default the per-entry scan is gathered. */
  protected _readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    return chunksOf(this._readSegment(range));
  }

  protected _readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    return chunksOf(this._readSpace(range));
  }
  protected abstract _peek(space: string, segment: string): Promise<StoredEntry | undefined>;
  protected abstract _segmentStatus(space: string, segment: string): Promise<SegmentStatus | undefined>;
  protected abstract _segmentStatuses(space: string): Promise<SegmentStatus[]>;
  protected abstract _listSpaces(): Promise<string[]>;
  protected abstract _listSegments(space: string): Promise<string[]>;
  protected abstract _status(): Promise<StoreStatus>;
  /**
   * Runs `decide` on the key's lease state and the backend's clock, atomically against every other
   * operation on that key, stores its `next` state durably (if any) and returns its result.
   */
  protected abstract _updateLease(key: string, decide: LeaseDecision): Promise<LeaseResult>;
  /** Live leases after `page.after` (every key when undefined), sorted by key, at most `page.limit`, on the backend's lease clock. */
  protected abstract _listLeases(page: LeasePage): Promise<LeaseInfo[]>;
  protected abstract _close(): Promise<void>;
}

/**
 * Checks a batch against the segment's last sequence (docs/design.md, Contracts): the first record must be
 * `last + 1` and the rest contiguous. Throws `sequence_conflict` with `expected` and `actual`.
 */
export function checkBatchSequences(lastSequence: number, records: readonly Record[]): void {
  let expected = lastSequence + 1;
  for (const record of records) {
    if (record.sequence !== expected) throw sequenceConflict(expected, record.sequence);
    expected++;
  }
}

/** The `purge` of delete options: absent or a boolean. */
function purgeOf(options: DeleteOptions | undefined): boolean {
  if (options === undefined) return false;
  if (typeof options !== "object" || options === null) throw invalidArgument("options", "must be an object");
  const { purge } = options;
  if (purge !== undefined && typeof purge !== "boolean") throw invalidArgument("options.purge", "must be a boolean");
  return purge === true;
}

/** Producer states a store keeps by default (docs/design.md, Idempotent publish). */
export const DEFAULT_MAX_PRODUCERS = 10_000;

function unsupported(): StreamsError {
  return failedPrecondition("this storage backend does not support delete, truncate, close or retention");
}

/** Entries gathered into chunks of at most this many. */
const DEFAULT_CHUNK = 256;

/** A per-entry scan in chunks; the scan is released however the loop ends. */
export async function* chunksOf(entries: AsyncIterable<StoredEntry>, size = DEFAULT_CHUNK): AsyncIterableIterator<StoredEntry[]> {
  let chunk: StoredEntry[] = [];
  for await (const entry of entries) {
    chunk.push(entry);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
