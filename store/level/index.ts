import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { normalizeStoreId } from "../../pkg/api/internal/index.js";
import type { Store, StoreFactory } from "../types.js";
import { LevelStore } from "./level-store.js";

export interface LevelStoreOptions {
  /** Directory holding one LevelDB database per store, at `<dataDir>/<storeId>`. */
  dataDir: string;
  /** Written into each entry's `trx.node`; defaults to the host name. */
  nodeId?: string;
}

/**
 * A factory of LevelDB-backed stores, the embedded default. Acknowledged writes are synced to disk.
 * Opening a store that is still closing waits for its database to be released.
 */
export function createLevelStoreFactory(options: LevelStoreOptions): StoreFactory {
  const { dataDir } = options;
  const nodeId = options.nodeId ?? hostname();
  if (typeof dataDir !== "string" || dataDir === "") throw new TypeError("dataDir must be a non-empty string");
  if (typeof nodeId !== "string" || nodeId === "") throw new TypeError("nodeId must be a non-empty string");
  const closing = new Map<string, Promise<void>>();
  const track = (storeId: string, closed: Promise<void>): void => {
    closing.set(storeId, closed);
    void closed.then(() => {
      if (closing.get(storeId) === closed) closing.delete(storeId);
    });
  };
  return {
    // LOCK, LOG, MANIFEST and the write-ahead log, plus a table file or two of a small store (docs/tenants.md).
    descriptorsPerStore: 6,
    async open(storeId: string): Promise<Store> {
      const id = normalizeStoreId(storeId);
      await closing.get(id);
      await mkdir(dataDir, { recursive: true });
      return LevelStore.open(id, join(dataDir, id), nodeId, (closed) => track(id, closed));
    },
  };
}

export { LevelStore } from "./level-store.js";
export { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
