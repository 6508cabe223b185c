import { setTimeout as pause } from "node:timers/promises";
import type { StoreContext } from "./context.js";
import { databaseError } from "./outage.js";

/** Entry rows one DELETE removes at most: short statements, so commits and reads go on between them. */
export const RECLAIM_BATCH = 1_000;
/**
 * Rest between two DELETEs: at most about 100,000 rows a second, so that deleting never takes the
 * database's (and this process's) time from produce for long; nothing waits for the deletion.
 */
const RECLAIM_PAUSE_MS = 10;

/**
 * Deletes the entry rows that truncations, deletes and purges left behind (docs/postgres.md), in the
 * background, one bounded DELETE at a time. Reads skip those rows from the moment of the change, so
 * nothing waits for this. Each DELETE is idempotent — it removes the rows below the segment's first
 * kept sequence that are still there (all of them for a purged segment) — so instances that reclaim
 * the same segment at once only share the work; `bytes` on the segment drops by what each removed.
 * Work lost to a crash or a stopped store is found again by `recover()` (the sweeper calls it).
 */
export class Reclaimer {
  readonly #context: StoreContext;
  readonly #batchSql: string;
  readonly #pending = new Set<number>();
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(context: StoreContext) {
    this.#context = context;
    const { schema } = context;
    this.#batchSql = `WITH low AS (SELECT min(sequence) AS lo FROM ${schema}.entries WHERE segment_id = $1),
      upto AS (SELECT coalesce((SELECT first_sequence FROM ${schema}.segments WHERE id = $1), 9223372036854775807) AS hi),
      gone AS (DELETE FROM ${schema}.entries e USING low, upto
        WHERE e.segment_id = $1 AND e.sequence >= low.lo AND e.sequence < least(upto.hi, low.lo + $2)
        RETURNING octet_length(e.payload) AS n),
      counted AS (UPDATE ${schema}.segments SET bytes = bytes - (SELECT sum(n) FROM gone) WHERE id = $1 AND EXISTS (SELECT 1 FROM gone))
      SELECT count(*)::int AS removed FROM gone`;
  }

  /** Queues segments (by row id) whose removed rows are to be deleted. */
  add(ids: Iterable<number>): void {
    for (const id of ids) this.#pending.add(id);
    this.#start();
  }

  /**
   * Queues every segment of the store with removed rows still stored, and the purged segments that
   * are this store's or no living store's. A purged segment's rows name their space, whose row stays
   * while its store lives: another store's sweep leaves them to that store (every store of a schema
   * sweeping the same rows would only multiply the DELETEs). A deleted store's spaces are gone, so its
   * rows (and a purged segment with none left) are any store's to finish.
   */
  async recover(): Promise<void> {
    const { schema, storeId } = this.#context;
    try {
      const { rows } = await this.#context.pool.query<{ id: string }>(
        `SELECT sg.id FROM ${schema}.spaces sp JOIN ${schema}.segments sg ON sg.space_id = sp.id
          WHERE sp.store_id = $1 AND sg.first_sequence > 1
            AND EXISTS (SELECT 1 FROM ${schema}.entries e WHERE e.segment_id = sg.id AND e.sequence < sg.first_sequence)
        UNION SELECT ps.segment_id FROM ${schema}.purged_segments ps
          LEFT JOIN LATERAL (SELECT e.space_id FROM ${schema}.entries e WHERE e.segment_id = ps.segment_id LIMIT 1) left_row ON true
          LEFT JOIN ${schema}.spaces sp ON sp.id = left_row.space_id
          WHERE sp.id IS NULL OR sp.store_id = $1`,
        [storeId],
      );
      this.add(rows.map((row) => Number(row.id)));
    } catch (error) {
      throw databaseError(error, "find rows to reclaim");
    }
  }

  /** Deletes one segment's removed rows now, batch by batch; resolves when none is left. */
  reclaim(id: number): Promise<number> {
    return this.#reclaim(id, () => true);
  }

  async #reclaim(id: number, goOn: () => boolean): Promise<number> {
    let total = 0;
    for (;;) {
      let removed: number;
      try {
        const { rows } = await this.#context.pool.query<{ removed: number }>(this.#batchSql, [id, RECLAIM_BATCH]);
        removed = rows[0]?.removed ?? 0;
      } catch (error) {
        throw databaseError(error, "reclaim rows");
      }
      if (removed === 0) break;
      total += removed;
      if (!goOn()) return total;
      // A rest between batches, so commits and reads (this process's and others') go first.
      await pause(RECLAIM_PAUSE_MS);
    }
    try {
      await this.#context.pool.query(`DELETE FROM ${this.#context.schema}.purged_segments WHERE segment_id = $1`, [id]);
    } catch (error) {
      throw databaseError(error, "reclaim rows");
    }
    return total;
  }

  /** Resolves once the queue is empty (or the reclaimer stopped). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Stops after the batch under way; what is left is found again by the next `recover()`. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.idle();
  }

  #start(): void {
    if (this.#running !== undefined || this.#stopped || this.#pending.size === 0) return;
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      this.#start();
    });
  }

  async #run(): Promise<void> {
    for (const id of this.#pending) {
      if (this.#stopped) return;
      try {
        await this.#reclaim(id, () => !this.#stopped);
        this.#pending.delete(id);
      } catch {
        // The database is away: drop the queue, the next sweep's recover() finds the work again.
        this.#pending.clear();
        return;
      }
    }
  }
}
