import { mkdir, readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { isValidStoreId, normalizeStoreId } from "../../pkg/api/internal/index.js";
import { checkStoreOptions } from "../store-options.js";
import type { Store, StoreFactory, StoreOptions } from "../types.js";
import { LevelStore } from "./level-store.js";
import { importOwnDatabase } from "./migrate.js";
import { openSharedPlace } from "./shared.js";

/**
 * How stores lie in the data directory (docs/tenants.md):
 * - `shared` (default): one database, `<dataDir>/stores`, every store's keys under its id; commits
 *   of many stores share one synced write; no descriptors per store.
 * - `per-store`: one database per store at `<dataDir>/<storeId>` (about 6 descriptors per open store).
 */
export type LevelLayout = "shared" | "per-store";

export const LEVEL_LAYOUTS: readonly LevelLayout[] = ["shared", "per-store"];

/** The shared database's directory under the data directory (never a store id: those are UUIDs). */
export const SHARED_DATABASE = "stores";

export interface LevelStoreOptions extends StoreOptions {
  /** Directory holding the stores' databases. */
  dataDir: string;
  /** Written into each entry's `trx.node`; defaults to the host name. */
  nodeId?: string;
  /** Default `shared`. */
  layout?: LevelLayout;
}

/**
 * A factory of LevelDB-backed stores, the embedded default. Acknowledged writes are synced to disk.
 * Opening a store that is still closing waits for it to let go of its keys. In the shared layout, a
 * store still kept in a database of its own (the per-store layout) is moved into the shared database
 * when it is first opened.
 */
export function createLevelStoreFactory(options: LevelStoreOptions): StoreFactory {
  const { dataDir } = options;
  const nodeId = options.nodeId ?? hostname();
  const layout = options.layout ?? "shared";
  if (typeof dataDir !== "string" || dataDir === "") throw new TypeError("dataDir must be a non-empty string");
  if (typeof nodeId !== "string" || nodeId === "") throw new TypeError("nodeId must be a non-empty string");
  if (!LEVEL_LAYOUTS.includes(layout)) throw new TypeError(`layout must be one of ${LEVEL_LAYOUTS.join(", ")}, got ${String(layout)}`);
  const storeOptions = checkStoreOptions(options);
  const closing = new Map<string, Promise<void>>();
  const track = (storeId: string, closed: Promise<void>): void => {
    closing.set(storeId, closed);
    void closed.then(() => {
      if (closing.get(storeId) === closed) closing.delete(storeId);
    });
  };
  // Once per factory, not on every open: the directory, and which stores still have databases of their own.
  let ready: Promise<Set<string>> | undefined;
  const prepare = async (): Promise<Set<string>> => {
    await mkdir(dataDir, { recursive: true });
    if (layout === "per-store") return new Set();
    return new Set((await readdir(dataDir)).filter((name) => isValidStoreId(name)).map((name) => name.toLowerCase()));
  };
  const place = (id: string, ownDatabases: Set<string>): string | Parameters<typeof LevelStore.open>[1] => {
    if (layout === "per-store") return join(dataDir, id);
    return () =>
      openSharedPlace(join(dataDir, SHARED_DATABASE), id, async (sublevel, clear) => {
        if (!ownDatabases.has(id)) return;
        await importOwnDatabase(join(dataDir, id), sublevel, clear);
        ownDatabases.delete(id);
      });
  };
  return {
    // Per store: LOCK, LOG, MANIFEST and the write-ahead log, plus a table file or two of a small store.
    descriptorsPerStore: layout === "per-store" ? 6 : 0,
    async open(storeId: string): Promise<Store> {
      const id = normalizeStoreId(storeId);
      await closing.get(id);
      ready ??= prepare();
      ready.catch(() => (ready = undefined));
      return LevelStore.open(id, place(id, await ready), nodeId, (closed) => track(id, closed), storeOptions);
    },
  };
}

export { LevelStore } from "./level-store.js";
export { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
