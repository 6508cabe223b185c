import {
  assertName,
  checkBytes,
  checkMetadata,
  checkRecord,
  invalidArgument,
  type LeaseResult,
  type Record,
  type SegmentStatus,
  StreamsError,
  type StoreStatus,
  sequenceConflict,
} from "../pkg/api/internal/index.js";
import { acquireDecision, checkLeaseTtl, type LeaseDecision, releaseDecision, renewDecision } from "./leases.js";
import type { ProduceChain, SegmentRange, SpaceRange, Store, StoredEntry, StoreFeatures } from "./types.js";

/**
 * Base of every backend, in the manner of abstract-level: public methods validate their arguments
 * and the store's state, then call the backend's `_method`. Backends implement only the `_` methods.
 */
export abstract class AbstractStore implements Store {
  #closing: Promise<void> | undefined;

  protected constructor(
    readonly storeId: string,
    readonly features: StoreFeatures,
  ) {}

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
    return this._produce(space, segment, records, chain);
  }

  async publish(space: string, segment: string, payload: Uint8Array, metadata?: { [key: string]: string }): Promise<SegmentStatus> {
    assertName(space, "space");
    assertName(segment, "segment");
    checkBytes(payload, "payload");
    if (metadata !== undefined) checkMetadata(metadata, "metadata");
    this.#assertOpen();
    return this._publish(space, segment, payload, metadata ?? {});
  }

  readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry> {
    assertName(range.space, "space");
    assertName(range.segment, "segment");
    this.#assertOpen();
    return this._readSegment(range);
  }

  readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    assertName(range.space, "space");
    this.#assertOpen();
    return this._readSpace(range);
  }

  readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    assertName(range.space, "space");
    assertName(range.segment, "segment");
    this.#assertOpen();
    return this._readSegmentChunks(range);
  }

  readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    assertName(range.space, "space");
    this.#assertOpen();
    return this._readSpaceChunks(range);
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

  /** A backend declaring `pipelinedProduce` sets `chain.failure` when the batch fails (ProduceChain). */
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
