import pg from "pg";
import { StreamsError } from "../../pkg/api/index.js";

/** Bounds of the store's connection pool (docs/postgres.md). Every wait on the database is bounded. */
export interface PostgresPoolOptions {
  /** Connections at most (default 10). */
  max?: number;
  /** Time to get a connection, opening one included (default 5 s); then the call fails `unavailable`. */
  connectTimeoutMs?: number;
  /** Time one query may take before the call fails `unavailable` and its connection is dropped (default 15 s). */
  queryTimeoutMs?: number;
  /** Idle connections are closed after this long (default 30 s). */
  idleTimeoutMs?: number;
}

const DEFAULT_POOL: Required<PostgresPoolOptions> = { max: 10, connectTimeoutMs: 5_000, queryTimeoutMs: 15_000, idleTimeoutMs: 30_000 };

/** What a caller is told to wait before retrying a call the database could not answer. */
export const RETRY_AFTER_MS = 1_000;

export function resolvePoolOptions(options: PostgresPoolOptions = {}): Required<PostgresPoolOptions> {
  const resolved = { ...DEFAULT_POOL, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`pool.${name} must be a positive integer`);
  }
  return resolved;
}

/**
 * A bounded pool: connects, queries and transactions left open by a vanished client all time out,
 * so a database outage turns into errors rather than hanging calls; new connections are made as
 * needed, so the store works again when the database is back, without a restart.
 */
export function createPool(connectionString: string, options: Required<PostgresPoolOptions>): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    // Server side: a session that stops talking inside a transaction (its instance died or lost the
    // network) is ended, so the row locks it holds do not stall the other instances.
    idle_in_transaction_session_timeout: options.queryTimeoutMs,
    keepAlive: true,
    application_name: "streamkit-ts",
  });
  // An idle connection that breaks is already removed by the pool; without a listener its error
  // would crash the process. The next call that needs a connection reports the outage.
  pool.on("error", () => undefined);
  return pool;
}

/** SQLSTATE classes that mean "try again later": connection, resources, operator, transaction rollback. */
const TRANSIENT_CLASSES = ["08", "53", "57", "40", "55", "25"];

/**
 * The StreamsError a database failure becomes: `unavailable` (transient, retryAfterMs) when the
 * database could not be reached or answered in time, `internal` for a refused statement (a bug).
 */
export function databaseError(error: unknown, what: string): StreamsError {
  if (error instanceof StreamsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const sqlState = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (sqlState !== undefined && !TRANSIENT_CLASSES.includes(sqlState.slice(0, 2))) {
    return new StreamsError("internal", `${what}: database refused: ${message}`, { cause: error });
  }
  return new StreamsError("unavailable", `${what}: database unavailable: ${message}`, { cause: error, retryAfterMs: RETRY_AFTER_MS });
}
