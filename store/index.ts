export { AbstractStore, checkBatchSequences } from "./abstract-store.js";
export { isRepeatedAck } from "./producers.js";
export type { LeaseInfo, LeaseListOptions, SegmentRange, SpaceRange, Store, StoredEntry, StoreFactory, StoreFeatures, StoreOptions } from "./types.js";
