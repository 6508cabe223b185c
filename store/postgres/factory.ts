import { hostname } from "node:os";
import type pg from "pg";
import { normalizeStoreId, StreamsError } from "../../pkg/api/internal/index.js";
import { checkStoreOptions } from "../store-options.js";
import type { Store, StoreFactory, StoreOptions } from "../types.js";
import type { Ordering } from "./context.js";
import type { LeaseClock } from "./leases.js";
import { checkSchemaName, migrate, quoted } from "./migrations.js";
import { createPool, databaseError, type PostgresPoolOptions, resolvePoolOptions } from "./outage.js";
import { PostgresStore } from "./postgres-store.js";

export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://user@host:port/database`; the role needs no superuser, only CREATE on the database (or an existing schema). */
  connectionString: string;
  /** Schema holding the tables (default "streamkit"); a lower-case identifier. */
  schema?: string;
  /** Bounds of this factory's own connection pool. */
  pool?: PostgresPoolOptions;
  /** Written into each entry's `trx.node`; defaults to the host name. */
  nodeId?: string;
}

/** Choices kept out of the public options: the ordering technique measured in bench/, and a local lease clock for tests that fake time. */
export interface PostgresStoreInternals {
  ordering?: Ordering;
  leaseClock?: LeaseClock;
}

export interface PostgresStoreFactory extends StoreFactory {
  /** Resolves once the schema is migrated to this version (open() waits for it too); rejects `unavailable` while the database is unreachable. */
  ready(): Promise<void>;
  /** Ends this factory's pool once; stores opened from it fail `unavailable` afterwards. */
  close(): Promise<void>;
}

export function createPostgresStoreFactoryWith(options: PostgresStoreOptions, internals: PostgresStoreInternals = {}): PostgresStoreFactory {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const { connectionString } = options;
  if (typeof connectionString !== "string" || connectionString === "") throw new TypeError("connectionString must be a non-empty string");
  const schema = options.schema ?? "streamkit";
  checkSchemaName(schema);
  const nodeId = options.nodeId ?? hostname();
  if (typeof nodeId !== "string" || nodeId === "") throw new TypeError("nodeId must be a non-empty string");
  const ordering = internals.ordering ?? "counter";
  const leaseClock = internals.leaseClock ?? "database";
  const storeOptions = checkStoreOptions(options);
  const pool: pg.Pool = createPool(connectionString, resolvePoolOptions(options.pool));

  let migrated: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const ready = async (): Promise<void> => {
    if (closing !== undefined) throw new StreamsError("unavailable", "the PostgreSQL store factory is closed");
    // Kept only once it succeeds: after an outage at start, the next call tries again.
    migrated ??= migrate(pool, schema).catch((error: unknown) => {
      migrated = undefined;
      throw databaseError(error, `migrate schema ${schema}`);
    });
    return migrated;
  };

  return {
    ready,
    async open(storeId: string): Promise<Store> {
      const id = normalizeStoreId(storeId);
      await ready();
      return new PostgresStore({ pool, schema: quoted(schema), storeId: id, nodeId, ordering }, leaseClock, storeOptions);
    },
    close(): Promise<void> {
      closing ??= pool.end();
      return closing;
    },
  };
}
