import { chunksOf } from "../../../store/abstract-store.js";
import type { SegmentRange, SpaceRange, Store, StoredEntry } from "../../../store/types.js";

/** A segment scan in chunks: the store's own chunked scan when it has one. */
export function segmentChunks(store: Store, range: SegmentRange): AsyncIterable<StoredEntry[]> {
  return store.readSegmentChunks?.(range) ?? chunksOf(store.readSegment(range));
}

/** A space scan in chunks: the store's own chunked scan when it has one. */
export function spaceChunks(store: Store, range: SpaceRange): AsyncIterable<StoredEntry[]> {
  return store.readSpaceChunks?.(range) ?? chunksOf(store.readSpace(range));
}
