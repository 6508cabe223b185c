export { AbstractStore, checkBatchSequences } from "./abstract-store.js";
export { isRepeatedAck } from "./producers.js";
export type { SegmentRange, SpaceRange, Store, StoredEntry, StoreFactory, StoreFeatures, StoreOptions } from "./types.js";
