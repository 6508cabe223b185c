import { normalizeStoreId } from "../../pkg/api/internal/index.js";
import { checkStoreOptions } from "../store-options.js";
import type { Store, StoreFactory, StoreOptions } from "../types.js";
import { MemoryStore, MemoryStoreData } from "./memory-store.js";

export interface MemoryStoreOptions extends StoreOptions {
  /** Written into each entry's `trx.node`. */
  nodeId?: string;
}

const DEFAULTS = { nodeId: "memory" };

/**
 * A factory of in-memory stores. Each store's data lives as long as the factory, so a store that is
 * closed (say, evicted while idle) and opened again still has everything.
 */
export function createMemoryStoreFactory(options: MemoryStoreOptions = {}): StoreFactory {
  const nodeId = options.nodeId ?? DEFAULTS.nodeId;
  if (typeof nodeId !== "string" || nodeId === "") throw new TypeError("nodeId must be a non-empty string");
  const storeOptions = checkStoreOptions(options);
  const stores = new Map<string, MemoryStoreData>();
  return {
    async open(storeId: string): Promise<Store> {
      const id = normalizeStoreId(storeId);
      let data = stores.get(id);
      if (data === undefined) {
        data = new MemoryStoreData();
        stores.set(id, data);
      }
      return new MemoryStore(id, data, nodeId, storeOptions);
    },
  };
}

export { MemoryStore } from "./memory-store.js";
