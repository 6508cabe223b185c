import { compareNames, failedPrecondition, type LeaseResult, notFound, type Record, type Retention, type SegmentStatus, StreamsError } from "../../pkg/api/internal/index.js";
import type { SegmentHead } from "../heads.js";
import { HeadsStore } from "../heads-store.js";
import type { LeaseDecision, LeasePage } from "../leases.js";
import { closedHead, deletedHead, type EntryPlace, truncatedHead } from "../lifecycle.js";
import { segmentBounds, spaceBounds, type TimeBounds } from "../read-bounds.js";
import type { LeaseInfo, ProduceChain, SegmentRange, SpaceRange, StoredEntry, StoreFeatures, StoreOptions, StoreUsage } from "../types.js";
import { EntryCommitted, GroupCommit, type LevelDb } from "./group-commit.js";
import { type KeyRange, numberKey, retentionKey, segmentBatchPrefix, spaceBatchPrefix } from "./keys.js";
import { LevelLeases } from "./level-leases.js";
import { readPlace } from "./lifecycle-io.js";
import { openOwnPlace, type StorePlace } from "./place.js";
import { Reclaimer } from "./reclaim.js";
import { recoverStore } from "./recover.js";
import { entryAt, type OrdinalWindow, scanChunks, scanEntries } from "./scan.js";
import { decodeBatch, encodeRetention } from "./values.js";

const FEATURES: StoreFeatures = { reopen: true, durable: true, pipelinedProduce: true, lifecycle: true };

/** Attempts of a truncation whose new first entry keeps moving from the commit queue to disk. */
const TRUNCATE_ATTEMPTS = 4;

/**
 * A store in LevelDB, in a database of its own or its part of a shared one (docs/tenants.md):
 * durable group commits, every read one ordered range scan.
 */
export class LevelStore extends HeadsStore {
  readonly #db: LevelDb;
  readonly #commits: GroupCommit;
  readonly #leases: LevelLeases;
  readonly #onClosing: (closed: Promise<void>) => void;
  readonly #place: StorePlace;
  readonly #retentions: Map<string, Retention>;
  readonly #reclaimer: Reclaimer;
  #deleting = false;

  private constructor(
    storeId: string,
    place: StorePlace,
    commits: GroupCommit,
    retentions: Map<string, Retention>,
    onClosing: (closed: Promise<void>) => void,
    options: StoreOptions,
  ) {
    super(storeId, FEATURES, commits.committed, options);
    this.#place = place;
    this.#db = place.db;
    this.#commits = commits;
    this.#leases = new LevelLeases(place.db);
    this.#retentions = retentions;
    this.#onClosing = onClosing;
    this.#reclaimer = new Reclaimer(place.db, commits.committed, (start, end) => place.compactRange(start, end));
    // Removed entries a previous process had not reclaimed yet.
    for (const space of commits.committed.spaces.keys()) {
      for (const [segment, head] of commits.committed.spaces.get(space)?.segments ?? []) {
        if (head.firstSequence > 1) this.#reclaimer.schedule(space, segment);
      }
    }
  }

  /** Resolves when the background reclaim of removed entries has nothing left to do (tests, benchmarks). */
  reclaimed(): Promise<void> {
    return this.#reclaimer.idle();
  }

  /**
   * Opens the store in `place` (or in a database of its own at that location, created if needed)
   * and recovers its heads. `onClosing` learns when the store starts closing, with a promise of its
   * place being let go.
   */
  static async open(
    storeId: string,
    place: string | (() => Promise<StorePlace>),
    nodeId: string,
    onClosing: (closed: Promise<void>) => void = () => undefined,
    options: StoreOptions = {},
  ): Promise<LevelStore> {
    let opened: StorePlace;
    try {
      opened = await (typeof place === "string" ? openOwnPlace(place) : place());
    } catch (error) {
      if (error instanceof StreamsError) throw error;
      throw new StreamsError("unavailable", `cannot open store ${storeId}: ${describe(error)}`, { cause: error });
    }
    try {
      const { heads, retentions } = await recoverStore(opened.db);
      return new LevelStore(storeId, opened, new GroupCommit(opened.db, heads, nodeId, opened.writer), retentions, onClosing, options);
    } catch (error) {
      await opened.close(false);
      throw new StreamsError("unavailable", `cannot recover store ${storeId}: ${describe(error)}`, { cause: error });
    }
  }

  protected async _produce(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus> {
    return this.#commits.commit(space, segment, records, chain);
  }

  protected async _publish(
    space: string,
    segment: string,
    payload: Uint8Array,
    metadata: { [key: string]: string },
  ): Promise<SegmentStatus> {
    return this.#commits.publish(space, segment, payload, metadata);
  }

  protected _readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry> {
    return scanEntries(this.#db, range.space, ...this.#removing(range.space, segmentScan(range)));
  }

  protected override _readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    return scanChunks(this.#db, range.space, ...this.#removing(range.space, segmentScan(range)));
  }

  protected _readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    return scanEntries(this.#db, range.space, ...this.#spaceScan(range));
  }

  protected override _readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    return scanChunks(this.#db, range.space, ...this.#spaceScan(range));
  }

  #spaceScan(range: SpaceRange): Scan {
    return this.#removing(range.space, spaceScan(range));
  }

  /** A scan that knows what is removed as it goes (see OrdinalWindow.firstSequence). */
  #removing(space: string, [keys, window, bounds]: Scan): Scan {
    const heads = this.#commits.committed;
    window.firstSequence = (segment) => heads.segmentHead(space, segment)?.firstSequence ?? 1;
    return [keys, window, bounds];
  }

  protected override async _deleteSegment(space: string, segment: string, purge: boolean): Promise<SegmentStatus> {
    const tombstone = await this.#change(space, segment, (head) => deletedHead(existing(space, segment, head, { deleted: true })));
    if (purge) await this.#purge(space, segment);
    return tombstone;
  }

  /**
   * A hard purge of a deleted segment: its batches are deleted now (the tombstone hides them until
   * then), and only then is its head forgotten, so a later produce from sequence 1 never meets an
   * old batch's key. A produce that revived the segment meanwhile keeps it: the purge is refused.
   */
  async #purge(space: string, segment: string): Promise<void> {
    await this.#reclaimer.reclaimNow(space, segment);
    await this.#commits.forget(space, segment, (head) => {
      if (head?.deleted !== true) throw failedPrecondition(`segment ${segment} of space ${space} was written to while being purged; it is deleted, not purged`);
    });
  }

  protected override async _deleteSpace(space: string, purge: boolean): Promise<SegmentStatus[]> {
    const heads = this.#commits.committed;
    const segments = purge ? [...(heads.spaces.get(space)?.segments.keys() ?? [])].sort(compareNames) : heads.listSegments(space);
    if (segments.length === 0) throw notFound(`space ${space} has no segments`);
    return Promise.all(segments.map((segment) => this._deleteSegment(space, segment, purge)));
  }

  protected override async _deleteStore(): Promise<void> {
    this.#deleting = true;
    await this.close();
  }

  protected override async _truncateSegment(space: string, segment: string, beforeSequence: number): Promise<SegmentStatus> {
    let known: [sequence: number, place: EntryPlace] | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#change(space, segment, (head) =>
          truncatedHead(existing(space, segment, head), beforeSequence, (sequence) =>
            known?.[0] === sequence ? known[1] : this.#commits.queuedPlace(space, segment, sequence),
          ),
        );
      } catch (error) {
        // The new first entry is on disk, not in the queue: read where it lies and try again.
        if (!(error instanceof EntryCommitted) || attempt >= TRUNCATE_ATTEMPTS) throw error;
        known = [error.sequence, await readPlace(this.#db, space, segment, error.sequence)];
      }
    }
  }

  protected override _closeSegment(space: string, segment: string): Promise<SegmentStatus> {
    return this.#change(space, segment, (head) => closedHead(existing(space, segment, head)));
  }

  protected override async _setRetention(space: string, retention: Retention): Promise<void> {
    try {
      if (Object.keys(retention).length === 0) await this.#db.del(retentionKey(space), { sync: true });
      else await this.#db.put(retentionKey(space), encodeRetention(retention), { sync: true });
    } catch (error) {
      throw StreamsError.from(error, "unavailable");
    }
    if (Object.keys(retention).length === 0) this.#retentions.delete(space);
    else this.#retentions.set(space, retention);
  }

  protected override async _retentions(): Promise<Map<string, Retention>> {
    return new Map(this.#retentions);
  }

  protected override async _usage(): Promise<StoreUsage> {
    return { entries: this.#commits.committed.entryCount(), bytes: await this.#place.bytes() };
  }

  /** Queues a head change with the commits, then reclaims what it removed in the background. */
  async #change(space: string, segment: string, change: (head: SegmentHead | undefined) => SegmentHead): Promise<SegmentStatus> {
    const status = await this.#commits.change(space, segment, change);
    if (status.firstSequence > 1) this.#reclaimer.schedule(space, segment);
    return status;
  }

  protected async _peek(space: string, segment: string): Promise<StoredEntry | undefined> {
    const head = this.#commits.committed.segmentHead(space, segment);
    if (head === undefined) return undefined;
    // The segment's last batch is keyed by the head's last sequence.
    const value = await this.#db.get(numberKey(segmentBatchPrefix(space, segment), head.lastSequence));
    if (value === undefined) return undefined;
    const batch = decodeBatch(value);
    return entryAt(space, batch, batch.payloads.length - 1);
  }

  protected async _updateLease(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    return this.#leases.update(key, decide);
  }

  protected async _listLeases(page: LeasePage): Promise<LeaseInfo[]> {
    return this.#leases.list(page);
  }

  protected _close(): Promise<void> {
    const closed = Promise.all([this.#commits.drain(), this.#leases.drain(), this.#reclaimer.stop()])
      .then(() => this.#place.close(this.#deleting));
    this.#onClosing(closed.catch(() => undefined));
    return closed;
  }
}

type Scan = [KeyRange, OrdinalWindow, TimeBounds];

/** The head of an existing segment (with `deleted`, a deleted one too); else `not_found`. */
function existing(space: string, segment: string, head: SegmentHead | undefined, allow?: { deleted: boolean }): SegmentHead {
  if (head === undefined || (head.deleted === true && allow?.deleted !== true)) throw notFound(`segment ${segment} of space ${space} does not exist`);
  return head;
}

function segmentScan(range: SegmentRange): Scan {
  const bounds = segmentBounds(range);
  const prefix = segmentBatchPrefix(range.space, range.segment);
  // The first batch ending at or after minSequence holds it; the scan stops past maxSequence.
  const keys = { gte: numberKey(prefix, bounds.minSequence), lte: numberKey(prefix, Number.MAX_SAFE_INTEGER) };
  return [keys, { by: "sequence", from: bounds.minSequence, to: bounds.maxSequence }, bounds];
}

function spaceScan(range: SpaceRange): Scan {
  const bounds = spaceBounds(range);
  const prefix = spaceBatchPrefix(range.space);
  const keys = { gt: numberKey(prefix, bounds.afterPosition), lte: numberKey(prefix, Number.MAX_SAFE_INTEGER) };
  return [keys, { by: "position", from: bounds.afterPosition + 1, to: Number.MAX_SAFE_INTEGER }, bounds];
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return (error instanceof Error ? error.message : String(error)) + cause;
}
