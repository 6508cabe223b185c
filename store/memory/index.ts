import { normalizeStoreId } from "../../pkg/api/internal/index.js";
import type { Store, StoreFactory } from "../types.js";
import { MemoryStore, MemoryStoreData } from "./memory-store.js";

export interface MemoryStoreOptions {
  /** Written into each entry's `trx.node`. */
  nodeId?: string;
}

const DEFAULTS: Required<MemoryStoreOptions> = { nodeId: "memory" };

/**
 * A factory of in-memory stores. Each store's data lives as long as the factory, so a store that is
 * closed (say, evicted while idle) and opened again still has everything.
 */
export function createMemoryStoreFactory(options: MemoryStoreOptions = {}): StoreFactory {
  const nodeId = options.nodeId ?? DEFAULTS.nodeId;
  if (typeof nodeId !== "string" || nodeId === "") throw new TypeError("nodeId must be a non-empty string");
  const stores = new Map<string, MemoryStoreData>();
  return {
    async open(storeId: string): Promise<Store> {
      const id = normalizeStoreId(storeId);
      let data = stores.get(id);
      if (data === undefined) {
        data = new MemoryStoreData();
        stores.set(id, data);
      }
      return new MemoryStore(id, data, nodeId);
    },
  };
}

export { MemoryStore } from "./memory-store.js";
