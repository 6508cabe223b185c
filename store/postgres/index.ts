import { createPostgresStoreFactoryWith, type PostgresStoreFactory, type PostgresStoreOptions } from "./factory.js";

/**
 * A factory of stores in shared PostgreSQL tables, for several server instances behind one address
 * (docs/postgres.md). Acknowledged writes are committed; the schema is migrated on first use; each
 * factory owns a bounded pool, ended by its `close()`.
 */
export function createPostgresStoreFactory(options: PostgresStoreOptions): PostgresStoreFactory {
  return createPostgresStoreFactoryWith(options);
}

export type { PostgresStoreFactory, PostgresStoreOptions } from "./factory.js";
export type { PostgresPoolOptions } from "./outage.js";
export { PostgresStore } from "./postgres-store.js";
