import { randomUUID } from "node:crypto";
import { type Record, type SegmentStatus, StreamsError } from "../../pkg/api/index.js";
import { type BatchPlacement, type Heads, type SegmentHead, statusOf } from "../heads.js";
import type { EntryPlace } from "../lifecycle.js";
import type { ProduceChain } from "../types.js";
import { numberKey, segmentBatchPrefix, segmentHeadKey, spaceBatchPrefix, spaceHeadKey, STORE_HEAD_KEY } from "./keys.js";
import { encodeBatch, encodeCommitNumber, encodeSegmentHead, encodeSpaceHead } from "./values.js";
import type { LevelDb } from "./database.js";
import { type BatchWriter, directWriter, type KeyWrites } from "./writer.js";

/** Most publishes, and payload bytes, one stored run holds: a read seeking into a batch decodes all of it. */
const MAX_RUN = 256;
const MAX_RUN_BYTES = 1024 * 1024;

export type { LevelDb } from "./database.js";
type ChainedBatch = KeyWrites;

interface QueuedBatch {
  placement: BatchPlacement;
  records: readonly Record[];
  /** Publishes queued one after another to one segment form a run: one stored batch, one trx. */
  run: { publish: boolean; length: number; bytes: number };
  resolve(status: SegmentStatus): void;
  reject(error: unknown): void;
}

/** A lifecycle change of one segment's head (docs/lifecycle.md), written in order with the batches. */
interface QueuedChange {
  space: string;
  segment: string;
  /** Undefined: the segment is forgotten (a hard purge). */
  head: SegmentHead | undefined;
  /** Batches of the group queued before it. */
  after: number;
  resolve(status: SegmentStatus | undefined): void;
  reject(error: unknown): void;
}

/** Batches (and head changes) written together: one synced LevelDB write. */
interface Group {
  queued: QueuedBatch[];
  changes: QueuedChange[];
}

/** Thrown by a change whose new first entry has left the queue: the caller reads it from disk and tries again. */
export class EntryCommitted extends Error {
  constructor(readonly sequence: number) {
    super(`entry ${sequence} is committed`);
  }
}

/**
 * Group commit over one LevelDB database. A batch is checked and placed (positions, timestamp,
 * commit number) against the pending heads, which include every batch still queued, and joins the
 * open group. One synced write runs at a time; batches that arrive while it runs form the next group.
 * So each segment's writes are serialized, batches of every segment share one fsync, and positions
 * become visible in the order they were assigned. Publishes that follow one another to one segment
 * in a group are stored as one batch: they share its timestamp and trx, as one commit.
 *
 * Acknowledged means durable: a batch resolves only after its group's synced write. A failed write
 * rejects its group and every batch queued behind it (they were placed after it), and the pending
 * heads fall back to what is on disk.
 */
export class GroupCommit {
  readonly #writer: BatchWriter;
  readonly #nodeId: string;
  readonly #committed: Heads;
  #pending: Heads;
  #open: Group | undefined;
  #writing: Group | undefined;
  #written: Promise<void> = Promise.resolve();
  #flushScheduled = false;

  /** `writer` makes the groups durable: by default one synced write of `db` each. */
  constructor(db: LevelDb, heads: Heads, nodeId: string, writer: BatchWriter = directWriter(db)) {
    this.#writer = writer;
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
      this.#queue({ placement, records, run: { publish: false, length: 1, bytes: 0 }, resolve, reject });
    });
  }

  /** Appends one record at the pending head's next sequence: never a conflict. */
  publish(space: string, segment: string, payload: Uint8Array, metadata: { [key: string]: string }): Promise<SegmentStatus> {
    return new Promise<SegmentStatus>((resolve, reject) => {
      const records = [{ sequence: this.#pending.nextSequence(space, segment), payload, metadata }];
      const previous = this.#open?.queued.at(-1);
      const joins =
        previous !== undefined &&
        previous.run.publish &&
        previous.run.length < MAX_RUN &&
        previous.run.bytes + payload.byteLength <= MAX_RUN_BYTES &&
        previous.placement.space === space &&
        previous.placement.segment === segment;
      // Joining the previous publish's run: its timestamp and commit number, so the run is one batch.
      const placement = joins
        ? this.#pending.place(space, segment, records, previous.placement.timestamp, { sameCommit: true })
        : this.#pending.place(space, segment, records, Date.now());
      const run = joins
        ? { publish: true, length: previous.run.length + 1, bytes: previous.run.bytes + payload.byteLength }
        : { publish: true, length: 1, bytes: payload.byteLength };
      this.#queue({ placement, records, run, resolve, reject });
    });
  }

  #queue(queued: QueuedBatch): void {
    this.#open ??= { queued: [], changes: [] };
    this.#open.queued.push(queued);
    this.#scheduleFlush();
  }

  /**
   * Queues a lifecycle change of a segment's head: `change` maps the pending head (undefined when the
   * segment does not exist) to the new one, or throws to refuse. Batches placed after it see the new
   * head; it is written in order with them, so a head on disk is always the latest one. Resolves
   * with the segment's status once durable.
   */
  change(space: string, segment: string, change: (head: SegmentHead | undefined) => SegmentHead): Promise<SegmentStatus> {
    return new Promise<SegmentStatus>((resolve, reject) => {
      const head = change(this.#pending.segmentHead(space, segment));
      this.#pending.setSegment(space, segment, head);
      this.#open ??= { queued: [], changes: [] };
      this.#open.changes.push({
        space,
        segment,
        head,
        after: this.#open.queued.length,
        resolve: (status) => {
          if (status !== undefined) resolve(status);
        },
        reject,
      });
      this.#scheduleFlush();
    });
  }

  /**
   * Queues forgetting a segment's head (a hard purge, docs/lifecycle.md), in order with the batches:
   * `check` sees the pending head and throws to refuse. Its sequences start at 1 again after it.
   */
  forget(space: string, segment: string, check: (head: SegmentHead | undefined) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      check(this.#pending.segmentHead(space, segment));
      this.#pending.removeSegment(space, segment);
      this.#open ??= { queued: [], changes: [] };
      this.#open.changes.push({ space, segment, head: undefined, after: this.#open.queued.length, resolve: () => resolve(), reject });
      this.#scheduleFlush();
    });
  }

  /** Where a queued (not yet durable) entry lies; throws EntryCommitted when no queued batch holds it. */
  queuedPlace(space: string, segment: string, sequence: number): EntryPlace {
    for (const group of [this.#writing, this.#open]) {
      for (const { placement } of group?.queued ?? []) {
        if (placement.space !== space || placement.segment !== segment) continue;
        const index = sequence - placement.firstSequence;
        if (index >= 0 && index < placement.count) return { timestamp: placement.timestamp, position: placement.firstPosition + index };
      }
    }
    throw new EntryCommitted(sequence);
  }

  /** Resolves once every queued batch has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.#writing !== undefined || this.#open !== undefined) {
      if (this.#writing === undefined) this.#flush();
      await this.#written;
    }
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
      await this.#writer.write((batch) => {
        addBatches(batch, group.queued, this.#nodeId);
        addHeads(batch, group.queued);
        addChanges(batch, group);
      });
    } catch (error) {
      const reason = failure(error);
      for (const queued of group.queued) queued.reject(reason);
      for (const change of group.changes) change.reject(reason);
      this.#abandonOpen(reason);
      return;
    }
    // In the order they were queued, so the committed heads end where the pending ones did.
    let next = 0;
    for (let i = 0; i < group.queued.length; i++) {
      for (; next < group.changes.length && (group.changes[next] as QueuedChange).after <= i; next++) this.#applyChange(group.changes[next] as QueuedChange);
      const queued = group.queued[i] as QueuedBatch;
      this.#committed.apply(queued.placement);
      queued.resolve(queued.placement.status);
    }
    for (; next < group.changes.length; next++) this.#applyChange(group.changes[next] as QueuedChange);
  }

  #applyChange(change: QueuedChange): void {
    if (change.head === undefined) {
      this.#committed.removeSegment(change.space, change.segment);
      change.resolve(undefined);
      return;
    }
    this.#committed.setSegment(change.space, change.segment, change.head);
    change.resolve(statusOf(change.space, change.segment, change.head));
  }

  /**
   * After a failed write: rejects the open group (its batches were placed after the failed ones) and
   * rebuilds the pending heads from what is written.
   */
  #abandonOpen(reason: StreamsError): void {
    const group = this.#open;
    this.#open = undefined;
    if (group !== undefined) for (const queued of [...group.queued, ...group.changes]) queued.reject(reason);
    this.#pending = this.#committed.clone();
  }
}

/**
 * Adds a group's batches, each under its segment key and its space key (each read is then one range
 * scan); a run of publishes becomes one batch.
 */
function addBatches(batch: ChainedBatch, queued: readonly QueuedBatch[], nodeId: string): void {
  for (let start = 0; start < queued.length; ) {
    let end = start + 1;
    while (end < queued.length && (queued[end] as QueuedBatch).run.length > 1) end++;
    const first = (queued[start] as QueuedBatch).placement;
    const records = end - start === 1 ? (queued[start] as QueuedBatch).records : queued.slice(start, end).flatMap((q) => q.records);
    const { space, segment, firstSequence, firstPosition } = first;
    const value = encodeBatch(first, { id: randomUUID(), node: nodeId, number: first.trxNumber }, records);
    batch.put(numberKey(segmentBatchPrefix(space, segment), firstSequence + records.length - 1), value);
    batch.put(numberKey(spaceBatchPrefix(space), firstPosition + records.length - 1), value);
    start = end;
  }
}

/** Adds the heads a group leaves: each touched segment and space once, and the commit counter. */
function addHeads(batch: ChainedBatch, queued: readonly QueuedBatch[]): void {
  const seenSegments = new Set<string>();
  const seenSpaces = new Set<string>();
  // Backwards, so each head written is the one the group's last batch of it leaves.
  for (let i = queued.length - 1; i >= 0; i--) {
    const { space, segment, head, firstPosition, count, timestamp } = (queued[i] as QueuedBatch).placement;
    const segmentId = `${space}\u0000${segment}`;
    if (!seenSegments.has(segmentId)) {
      seenSegments.add(segmentId);
      batch.put(segmentHeadKey(space, segment), encodeSegmentHead(head));
    }
    if (!seenSpaces.has(space)) {
      seenSpaces.add(space);
      batch.put(spaceHeadKey(space), encodeSpaceHead(firstPosition + count - 1, timestamp));
    }
  }
  const last = queued.at(-1);
  if (last !== undefined) batch.put(STORE_HEAD_KEY, encodeCommitNumber(last.placement.trxNumber));
}

/**
 * Adds the heads a group's lifecycle changes leave, after its batches' heads (a later put of a key
 * wins): a change is written only when no batch of its segment was queued after it, since such a
 * batch's head already holds the change.
 */
function addChanges(batch: ChainedBatch, group: Group): void {
  if (group.changes.length === 0) return;
  const lastBatch = new Map<string, number>();
  group.queued.forEach(({ placement }, index) => lastBatch.set(`${placement.space}\u0000${placement.segment}`, index));
  for (const change of group.changes) {
    const last = lastBatch.get(`${change.space}\u0000${change.segment}`) ?? -1;
    if (last >= change.after) continue;
    if (change.head === undefined) batch.del(segmentHeadKey(change.space, change.segment));
    else batch.put(segmentHeadKey(change.space, change.segment), encodeSegmentHead(change.head));
  }
}

function failure(error: unknown): StreamsError {
  return new StreamsError("unavailable", `commit failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
