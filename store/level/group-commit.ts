import type { ClassicLevel } from "classic-level";
import { v4 as uuidv4 } from "uuid";
import { type Record, type SegmentStatus, StreamsError, type Trx } from "../../pkg/api/index.js";
import type { BatchPlacement, Heads } from "../heads.js";
import type { ProduceChain } from "../types.js";
import { numberKey, segmentBatchPrefix, segmentHeadKey, spaceBatchPrefix, spaceHeadKey, STORE_HEAD_KEY } from "./keys.js";
import { encodeBatch, encodeCommitNumber, encodeSegmentHead, encodeSpaceHead } from "./values.js";

/**
 * An idle writer starts a synced write as soon as the open group holds this many batches, instead of
 * at the end of the turn: many concurrent callers (a closed loop of 64 publishers) then split into
 * two groups, one being processed while the other syncs. Measured best at 32 (bench "publish 64").
 */
const EAGER_FLUSH_BATCHES = 32;

export type LevelDb = ClassicLevel<Buffer, Buffer>;
type ChainedBatch = ReturnType<LevelDb["batch"]>;

interface QueuedBatch {
  placement: BatchPlacement;
  resolve(status: SegmentStatus): void;
  reject(error: unknown): void;
}

/** Batches written together: one synced LevelDB write. */
interface Group {
  batch: ChainedBatch;
  queued: QueuedBatch[];
}

/**
 * Group commit over one LevelDB database. A batch is checked and placed (positions, timestamp,
 * commit number) against the pending heads, which include every batch still queued, and its entries
 * are added to the open group at once. One synced write runs at a time; batches that arrive while it
 * runs form the next group. So each segment's writes are serialized, batches of every segment share
 * one fsync, and positions become visible in the order they were assigned.
 *
 * Acknowledged means durable: a batch resolves only after its group's synced write. A failed write
 * rejects its group and every batch queued behind it (they were placed after it), and the pending
 * heads fall back to what is on disk.
 */
export class GroupCommit {
  readonly #db: LevelDb;
  readonly #nodeId: string;
  readonly #committed: Heads;
  #pending: Heads;
  #open: Group | undefined;
  #writing: Group | undefined;
  #written: Promise<void> = Promise.resolve();
  #flushScheduled = false;

  constructor(db: LevelDb, heads: Heads, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
    this.#committed = heads;
    this.#pending = heads.clone();
  }

  /** Heads of what is durably written. */
  get committed(): Heads {
    return this.#committed;
  }

  /**
   * Queues a batch; resolves with the segment's head once the batch is durable. A batch of a failed
   * `chain` is refused unplaced, and a failing batch marks its chain at once (ProduceChain).
   */
  commit(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus> {
    return new Promise<SegmentStatus>((resolve, rejectBatch) => {
      const reject = (error: unknown): void => {
        if (chain !== undefined) chain.failure ??= error;
        rejectBatch(error);
      };
      if (chain?.failure !== undefined) return reject(chain.failure);
      let placement: BatchPlacement;
      try {
        placement = this.#pending.place(space, segment, records, Date.now());
      } catch (error) {
        // A conflict: nothing queued and nothing changed.
        return reject(error);
      }
      try {
        const group = this.#openGroup();
        group.queued.push({ placement, resolve, reject });
        addBatch(group.batch, placement, records, { id: uuidv4(), node: this.#nodeId, number: placement.trxNumber });
      } catch (error) {
        // The open group holds part of this batch: none of it may be written.
        const reason = failure(error);
        reject(reason);
        this.#abandonOpen(reason, this.#writing);
        return;
      }
      this.#flushSoon();
    });
  }

  /** Appends one record at the pending head's next sequence: never a conflict. */
  publish(space: string, segment: string, payload: Uint8Array, metadata: { [key: string]: string }): Promise<SegmentStatus> {
    const sequence = this.#pending.nextSequence(space, segment);
    return this.commit(space, segment, [{ sequence, payload, metadata }]);
  }

  /** Resolves once every queued batch has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.#writing !== undefined || this.#open !== undefined) {
      if (this.#writing === undefined) this.#flush();
      await this.#written;
    }
  }

  #openGroup(): Group {
    this.#open ??= { batch: this.#db.batch(), queued: [] };
    return this.#open;
  }

  #flushSoon(): void {
    if (this.#writing === undefined && (this.#open?.queued.length ?? 0) >= EAGER_FLUSH_BATCHES) this.#flush();
    else this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#writing !== undefined || this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the current turn of the event loop, so batches that arrive in the same turn (a burst of
    // answers turning into new publishes, the messages of one socket read) share the write.
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#writing === undefined) this.#flush();
    });
  }

  #flush(): void {
    const group = this.#open;
    if (group === undefined) return;
    this.#open = undefined;
    this.#writing = group;
    this.#written = this.#write(group).finally(() => {
      this.#writing = undefined;
      if (this.#open !== undefined) this.#flush();
    });
  }

  async #write(group: Group): Promise<void> {
    try {
      addHeads(group.batch, group.queued);
      await group.batch.write({ sync: true });
    } catch (error) {
      const reason = failure(error);
      for (const queued of group.queued) queued.reject(reason);
      this.#abandonOpen(reason, undefined);
      return;
    }
    for (const queued of group.queued) {
      this.#committed.apply(queued.placement);
      queued.resolve(queued.placement.status);
    }
  }

  /**
   * Rejects the open group (its batches were placed after a failed one) and rebuilds the pending
   * heads from what is written plus the group still being written, if any.
   */
  #abandonOpen(reason: StreamsError, inFlight: Group | undefined): void {
    const group = this.#open;
    this.#open = undefined;
    if (group !== undefined) {
      for (const queued of group.queued) queued.reject(reason);
      void group.batch.close().catch(() => undefined);
    }
    const pending = this.#committed.clone();
    for (const queued of inFlight?.queued ?? []) pending.apply(queued.placement);
    this.#pending = pending;
  }
}

/** Adds one batch, under its segment key and its space key (each read is then one range scan). */
function addBatch(batch: ChainedBatch, placement: BatchPlacement, records: readonly Record[], trx: Trx): void {
  const { space, segment, firstSequence, firstPosition, count } = placement;
  const value = encodeBatch(placement, trx, records);
  batch.put(numberKey(segmentBatchPrefix(space, segment), firstSequence + count - 1), value);
  batch.put(numberKey(spaceBatchPrefix(space), firstPosition + count - 1), value);
}

/** Adds the heads a group leaves: each touched segment and space once, and the commit counter. */
function addHeads(batch: ChainedBatch, queued: readonly QueuedBatch[]): void {
  const seenSegments = new Set<string>();
  const seenSpaces = new Set<string>();
  // Backwards, so each head written is the one the group's last batch of it leaves.
  for (let i = queued.length - 1; i >= 0; i--) {
    const { space, segment, status, firstPosition, count, timestamp } = (queued[i] as QueuedBatch).placement;
    const segmentId = `${space}\u0000${segment}`;
    if (!seenSegments.has(segmentId)) {
      seenSegments.add(segmentId);
      batch.put(segmentHeadKey(space, segment), encodeSegmentHead(status));
    }
    if (!seenSpaces.has(space)) {
      seenSpaces.add(space);
      batch.put(spaceHeadKey(space), encodeSpaceHead(firstPosition + count - 1, timestamp));
    }
  }
  const last = queued.at(-1);
  if (last !== undefined) batch.put(STORE_HEAD_KEY, encodeCommitNumber(last.placement.trxNumber));
}

function failure(error: unknown): StreamsError {
  return new StreamsError("unavailable", `commit failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
