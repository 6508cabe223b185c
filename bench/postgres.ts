// What the PostgreSQL bench cases share: where the database is, a throwaway schema per run, and the
// "not measured" report when it does not answer.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createLevelStoreFactory } from "../store/level/index.js";
import { createPostgresStoreFactoryWith, type PostgresStoreInternals } from "../store/postgres/factory.js";
import type { StoreFactory } from "../store/types.js";
import { report } from "./harness.js";

export const POSTGRES_URL = process.env.STREAMKIT_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test";

/** Whether the case's arguments ask for the PostgreSQL store ("store=postgres"). */
export const wantsPostgres = (): boolean => process.argv.includes("store=postgres");

/** Runs `fn` with a fresh schema that is dropped afterwards; reports "not measured" (and skips `fn`) when PostgreSQL does not answer. */
export async function withPostgresSchema(fn: (schema: string) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
  } catch (error) {
    report({ value: 0, unit: "", notMeasured: `PostgreSQL at ${POSTGRES_URL}: ${error instanceof Error ? error.message : String(error)}` });
    return;
  }
  const schema = `sk_bench_${randomBytes(6).toString("hex")}`;
  try {
    await fn(schema);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

export interface BenchStore {
  factory: StoreFactory;
  close(): Promise<void>;
}

/** A PostgreSQL store factory on `schema` with a bench-sized pool. */
export function postgresStore(schema: string, internals: PostgresStoreInternals = {}, nodeId = "bench"): BenchStore {
  const factory = createPostgresStoreFactoryWith({ connectionString: POSTGRES_URL, schema, nodeId, pool: { max: 8 } }, internals);
  return { factory, close: () => factory.close() };
}

/** LevelDB in `dataDir`, the default store of the cases. */
export function levelStore(dataDir: string): BenchStore {
  return { factory: createLevelStoreFactory({ dataDir }), close: async () => undefined };
}
