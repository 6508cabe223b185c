import { ClassicLevel } from "classic-level";
import { type LeaseResult, type Record, type SegmentStatus, StreamsError } from "../../pkg/api/index.js";
import { HeadsStore } from "../heads-store.js";
import type { LeaseDecision } from "../leases.js";
import { segmentBounds, spaceBounds, type TimeBounds } from "../read-bounds.js";
import type { ProduceChain, SegmentRange, SpaceRange, StoredEntry, StoreFeatures } from "../types.js";
import { GroupCommit, type LevelDb } from "./group-commit.js";
import { type KeyRange, numberKey, segmentBatchPrefix, spaceBatchPrefix } from "./keys.js";
import { LevelLeases } from "./level-leases.js";
import { recoverHeads } from "./recover.js";
import { entryAt, type OrdinalWindow, scanChunks, scanEntries } from "./scan.js";
import { decodeBatch } from "./values.js";

const FEATURES: StoreFeatures = { reopen: true, durable: true, pipelinedProduce: true };

/** A store in its own LevelDB database: durable group commits, every read one ordered range scan. */
export class LevelStore extends HeadsStore {
  readonly #db: LevelDb;
  readonly #commits: GroupCommit;
  readonly #leases: LevelLeases;
  readonly #onClosing: (closed: Promise<void>) => void;

  private constructor(storeId: string, db: LevelDb, commits: GroupCommit, onClosing: (closed: Promise<void>) => void) {
    super(storeId, FEATURES, commits.committed);
    this.#db = db;
    this.#commits = commits;
    this.#leases = new LevelLeases(db);
    this.#onClosing = onClosing;
  }

  /**
   * Opens (creating if needed) the database at `location` and recovers its heads.
   * `onClosing` learns when the store starts closing, with a promise of the database being closed.
   */
  static async open(
    storeId: string,
    location: string,
    nodeId: string,
    onClosing: (closed: Promise<void>) => void = () => undefined,
  ): Promise<LevelStore> {
    const db: LevelDb = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
    try {
      await db.open();
    } catch (error) {
      throw new StreamsError("unavailable", `cannot open store ${storeId}: ${describe(error)}`, { cause: error });
    }
    try {
      const heads = await recoverHeads(db);
      return new LevelStore(storeId, db, new GroupCommit(db, heads, nodeId), onClosing);
    } catch (error) {
      await db.close();
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
    return scanEntries(this.#db, range.space, ...segmentScan(range));
  }

  protected override _readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    return scanChunks(this.#db, range.space, ...segmentScan(range));
  }

  protected _readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    return scanEntries(this.#db, range.space, ...spaceScan(range));
  }

  protected override _readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    return scanChunks(this.#db, range.space, ...spaceScan(range));
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

  protected _close(): Promise<void> {
    const closed = Promise.all([this.#commits.drain(), this.#leases.drain()]).then(() => this.#db.close());
    this.#onClosing(closed.catch(() => undefined));
    return closed;
  }
}

type Scan = [KeyRange, OrdinalWindow, TimeBounds];

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
