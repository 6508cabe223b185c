export { AbstractStore, checkBatchSequences } from "./abstract-store.js";
export type { SegmentRange, SpaceRange, Store, StoredEntry, StoreFactory, StoreFeatures } from "./types.js";
