import { randomUUID } from "node:crypto";
import type { StoreContext } from "./context.js";
import { databaseError } from "./outage.js";

/** How long a sweep holds its store at most; a crashed instance's hold lapses after it. */
const SWEEP_HOLD_MS = 10 * 60_000;

const NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/**
 * Runs `work` if no other instance is sweeping this store (a row in `sweeps`, judged on the database's
 * clock), else resolves to undefined at once. A row rather than an advisory lock, so no connection is
 * held for the sweep. Exclusion only saves work: every change a sweep makes is idempotent, so two
 * sweeps overlapping after a hold lapsed still leave the right data.
 */
export async function withSweepLock<T>(context: StoreContext, work: () => Promise<T>): Promise<T | undefined> {
  const { schema, storeId, pool } = context;
  const holder = randomUUID();
  try {
    const { rowCount } = await pool.query(
      `INSERT INTO ${schema}.sweeps (store_id, holder, expires_at) VALUES ($1, $2, ${NOW_MS} + $3)
        ON CONFLICT (store_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE ${schema}.sweeps.expires_at <= ${NOW_MS}`,
      [storeId, holder, SWEEP_HOLD_MS],
    );
    if (rowCount === 0) return undefined;
  } catch (error) {
    throw databaseError(error, "start a sweep");
  }
  try {
    return await work();
  } finally {
    await pool.query(`DELETE FROM ${schema}.sweeps WHERE store_id = $1 AND holder = $2`, [storeId, holder]).catch(() => undefined);
  }
}
