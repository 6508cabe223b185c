import type { Heads } from "../heads.js";
import type { LevelDb } from "./group-commit.js";
import { numberKey, segmentBatchPrefix, spaceBatchPrefix } from "./keys.js";
import { decodeBatch } from "./values.js";

/** Batches deleted per LevelDB write: small, so produce's writes never wait long behind one. */
const RECLAIM_CHUNK = 32;
/** Entries removed since the last compaction that make the next one worth its I/O. */
const COMPACT_AFTER_ENTRIES = 50_000;

/**
 * Gives back the disk space of removed entries (docs/lifecycle.md), in the background. A truncation
 * or delete only moves a segment's head, at once and durably; this then deletes the batches wholly
 * below the segment's first kept sequence, under both their keys, a few at a time with a turn of the
 * event loop in between, and compacts the ranges it emptied once enough has gone. One segment at a
 * time; a segment queued again while queued is reclaimed once. Nothing here is needed for
 * correctness: reads skip removed entries, and a restart queues every trimmed segment again.
 */
export class Reclaimer {
  readonly #db: LevelDb;
  readonly #heads: Heads;
  readonly #queue = new Map<string, [space: string, segment: string]>();
  #running: Promise<void> | undefined;
  #stopped = false;
  #removedSinceCompaction = 0;
  /** Key ranges emptied since the last compaction, by their start (hex); bounded. */
  readonly #emptied = new Map<string, [start: Buffer, end: Buffer]>();
  #compactions = 0;
  #idleWaiters: (() => void)[] = [];

  readonly #compactRange: (start: Buffer, end: Buffer) => Promise<void>;

  constructor(db: LevelDb, heads: Heads, compactRange: (start: Buffer, end: Buffer) => Promise<void>) {
    this.#db = db;
    this.#compactRange = compactRange;
    this.#heads = heads;
  }

  /** Compactions run so far (for tests and status). */
  get compactions(): number {
    return this.#compactions;
  }

  schedule(space: string, segment: string): void {
    if (this.#stopped) return;
    this.#queue.set(`${space}\u0000${segment}`, [space, segment]);
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
      for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  /** Deletes one segment's removed batches now (a hard purge waits for it), beside the queue. */
  async reclaimNow(space: string, segment: string): Promise<void> {
    this.#queue.delete(`${space}\u0000${segment}`);
    await this.#reclaim(space, segment);
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.#running === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops after the write under way; what is left is found again at the next open. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#queue.entries().next();
      if (next.done === true) break;
      const [key, [space, segment]] = next.value;
      this.#queue.delete(key);
      try {
        await this.#reclaim(space, segment);
      } catch {
        // The database is closing, or a write failed: the removed entries stay hidden, and the next
        // open reclaims them.
        return;
      }
    }
    if (!this.#stopped && this.#removedSinceCompaction >= COMPACT_AFTER_ENTRIES) await this.#compact().catch(() => undefined);
  }

  async #reclaim(space: string, segment: string): Promise<void> {
    const first = this.#heads.segmentHead(space, segment)?.firstSequence ?? 1;
    if (first <= 1) return;
    const segmentPrefix = segmentBatchPrefix(space, segment);
    const spacePrefix = spaceBatchPrefix(space);
    // Batches keyed by a last sequence below the first kept one are wholly removed.
    const range = { gte: numberKey(segmentPrefix, 0), lt: numberKey(segmentPrefix, first) };
    let lastPosition = 0;
    for (;;) {
      if (this.#stopped) return;
      const found = await this.#db.iterator({ ...range, limit: RECLAIM_CHUNK }).all();
      if (found.length === 0) break;
      const operations = [];
      for (const [key, value] of found) {
        const batch = decodeBatch(value);
        const count = batch.payloads.length;
        const batchLastPosition = batch.firstPosition + count - 1;
        lastPosition = Math.max(lastPosition, batchLastPosition);
        operations.push({ type: "del" as const, key }, { type: "del" as const, key: numberKey(spacePrefix, batchLastPosition) });
        this.#removedSinceCompaction += count;
      }
      // Not synced: the heads already say these entries are gone; a crash leaves them for the next open.
      await this.#db.batch(operations);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (lastPosition === 0) return;
    this.#markEmptied(range.gte, range.lt);
    this.#markEmptied(numberKey(spacePrefix, 0), numberKey(spacePrefix, lastPosition + 1));
  }

  #markEmptied(start: Buffer, end: Buffer): void {
    const id = start.toString("hex");
    const known = this.#emptied.get(id);
    if (known === undefined || Buffer.compare(known[1], end) < 0) this.#emptied.set(id, [start, end]);
  }

  /** Compacts the ranges emptied (only the files overlapping them are rewritten), one after another. */
  async #compact(): Promise<void> {
    this.#removedSinceCompaction = 0;
    this.#compactions++;
    const ranges = [...this.#emptied.values()];
    this.#emptied.clear();
    for (const [start, end] of ranges) {
      if (this.#stopped) return;
      await this.#compactRange(start, end);
    }
  }
}
