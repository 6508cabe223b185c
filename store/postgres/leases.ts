import type { LeaseResult } from "../../pkg/api/index.js";
import type { LeaseDecision, LeasePage, LeaseState } from "../leases.js";
import type { LeaseInfo } from "../types.js";
import type { StoreContext } from "./context.js";
import { databaseError } from "./outage.js";

/** Whose clock decides lease expiry: the database's (the default, one clock for every instance), or this process's. */
export type LeaseClock = "database" | "local";

interface LeaseRow {
  holder: string;
  expires_at: string;
  token: string;
  now: string;
}

/**
 * Leases of one store in the shared database. Each operation runs in a transaction holding the key's
 * row lock (created on first use), so one holder per key holds across instances; tokens are stored,
 * so they only ever grow. Expiry is judged on the database's clock, read after the lock is taken.
 * Operations on one key from this store also queue here, so they apply in the order they were made.
 */
export class PostgresLeases {
  readonly #context: StoreContext;
  readonly #clock: LeaseClock;
  readonly #tails = new Map<string, Promise<void>>();

  constructor(context: StoreContext, clock: LeaseClock) {
    this.#context = context;
    this.#clock = clock;
  }

  update(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    const operation = (this.#tails.get(key) ?? Promise.resolve()).then(() => this.#apply(key, decide));
    const tail = operation.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return operation;
  }

  /**
   * Live leases after `page.after`, in key order: one index range scan of the store's keys (the key
   * column sorts by code point, COLLATE "C"), expiry judged on the lease clock as updates judge it.
   */
  async list(page: LeasePage): Promise<LeaseInfo[]> {
    const { pool, schema, storeId } = this.#context;
    const now = this.#clock === "database" ? null : Date.now();
    try {
      const { rows } = await pool.query<{ key: string; holder: string; expires_at: string; token: string }>(
        `SELECT key, holder, expires_at, token FROM ${schema}.leases
          WHERE store_id = $1 AND key > $2 AND holder <> ''
            AND expires_at > COALESCE($3::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
          ORDER BY key LIMIT $4`,
        [storeId, page.after ?? "", now, page.limit],
      );
      return rows.map((row) => ({ key: row.key, holder: row.holder, expiresAt: Number(row.expires_at), token: Number(row.token) }));
    } catch (error) {
      throw databaseError(error, "leases");
    }
  }

  /** Resolves once every queued operation has settled. */
  async drain(): Promise<void> {
    await Promise.all(this.#tails.values());
  }

  async #apply(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    const { pool, schema, storeId } = this.#context;
    let client;
    try {
      client = await pool.connect();
    } catch (error) {
      throw databaseError(error, `lease ${key}`);
    }
    let failure: Error | undefined;
    try {
      await client.query("BEGIN");
      // A no-op update on conflict takes the row lock and returns the row as it is once locked.
      const { rows } = await client.query<LeaseRow>(
        `INSERT INTO ${schema}.leases AS l (store_id, key, holder, expires_at, token) VALUES ($1, $2, '', 0, 0)
          ON CONFLICT (store_id, key) DO UPDATE SET token = l.token
          RETURNING l.holder, l.expires_at, l.token, (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
        [storeId, key],
      );
      const row = rows[0] as LeaseRow;
      const current: LeaseState = { holder: row.holder, expiresAt: Number(row.expires_at), token: Number(row.token) };
      const now = this.#clock === "database" ? Number(row.now) : Date.now();
      const { result, next } = decide(current, now);
      if (next !== undefined) {
        await client.query(`UPDATE ${schema}.leases SET holder = $3, expires_at = $4, token = $5 WHERE store_id = $1 AND key = $2`, [
          storeId,
          key,
          next.holder,
          next.expiresAt,
          next.token,
        ]);
      }
      await client.query("COMMIT");
      return result;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      await client.query("ROLLBACK").catch(() => undefined);
      throw databaseError(error, `lease ${key}`);
    } finally {
      // A connection that failed mid-transaction is dropped rather than reused.
      client.release(failure);
    }
  }
}
