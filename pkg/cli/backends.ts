import { access, constants } from "node:fs/promises";
import { resolve } from "node:path";
import pg from "pg";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import { createPostgresBusFactory } from "../../bus/postgres/index.js";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import type { BusFactory } from "../../bus/types.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createPostgresStoreFactory } from "../../store/postgres/index.js";
import type { StoreFactory } from "../../store/types.js";
import type { Logger } from "../api/logger.js";
import type { ServeConfig } from "./config/index.js";
import type { DependencyStatus } from "./probes.js";

/** The storage engine `serve` runs on, and how `/readyz` checks it. */
export interface StoreBackend {
  readonly factory: StoreFactory;
  /** Whether the engine answers now (`ok` or `failing` with the error); never throws. */
  check(): Promise<DependencyStatus>;
  close(): Promise<void>;
}

/** How long a readiness check waits for PostgreSQL before calling it failing. */
const PROBE_TIMEOUT_MS = 2_000;

/** The backend named by `store`: level (a directory), memory, or postgres (a shared database). */
export function openStoreBackend(config: ServeConfig): StoreBackend {
  if (config.store === "postgres") return postgresBackend(config);
  if (config.store === "memory") {
    const factory = createMemoryStoreFactory({ maxProducers: config.limits.maxProducers });
    return { factory, check: () => Promise.resolve({ state: "ok", backend: "memory" }), close: async () => factory.close?.() };
  }
  const dataDir = resolve(config.dataDir);
  const factory = createLevelStoreFactory({ dataDir, layout: config.levelLayout, maxProducers: config.limits.maxProducers });
  return {
    factory,
    async check() {
      try {
        await access(dataDir, constants.R_OK | constants.W_OK);
        return { state: "ok", backend: "level", dataDir };
      } catch (error) {
        return { state: "failing", backend: "level", dataDir, error: (error as Error).message };
      }
    },
    close: async () => factory.close?.(),
  };
}

/** The URL without its password, for status pages and logs. */
function shown(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}

function postgresBackend(config: ServeConfig): StoreBackend {
  const connectionString = config.postgresUrl ?? "";
  const factory = createPostgresStoreFactory({
    connectionString,
    schema: config.postgresSchema,
    pool: { max: config.postgresPoolMax },
    maxProducers: config.limits.maxProducers,
  });
  // A connection of its own, so a pool busy with commits does not make the instance look down.
  const probe = new pg.Pool({ connectionString, max: 1, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS, idleTimeoutMillis: 60_000 });
  probe.on("error", () => undefined);
  const details = { backend: "postgres", url: shown(connectionString), schema: config.postgresSchema };
  let checking: Promise<DependencyStatus> | undefined;
  const check = async (): Promise<DependencyStatus> => {
    try {
      await probe.query("SELECT 1");
      return { state: "ok", ...details };
    } catch (error) {
      return { state: "failing", ...details, error: (error as Error).message };
    }
  };
  return {
    factory,
    // Concurrent probes share one query.
    check: () => (checking ??= check().finally(() => (checking = undefined))),
    async close() {
      await Promise.all([factory.close(), probe.end().catch(() => undefined)]);
    },
  };
}

/** The bus named by `bus`; every bus of a deployment uses the same `busChannelPrefix`. */
export function openBusFactory(config: ServeConfig, logger: Logger): BusFactory {
  const channelPrefix = config.busChannelPrefix;
  if (config.bus === "redis" && config.redisUrl !== undefined) return createRedisBusFactory({ url: config.redisUrl, channelPrefix, logger });
  if (config.bus === "postgres" && config.postgresUrl !== undefined) {
    return createPostgresBusFactory({ connectionString: config.postgresUrl, channelPrefix, logger });
  }
  return createMemoryBusFactory();
}
