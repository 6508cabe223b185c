import { compareNames } from "../../api/index.js";
import type { StoredEntry } from "../../../store/types.js";

/** Entries per merged chunk at most. */
const MERGED_CHUNK = 512;

interface Head {
  chunk: StoredEntry[];
  index: number;
  iterator: AsyncIterator<StoredEntry[]>;
}

function before(a: StoredEntry, b: StoredEntry): boolean {
  return a.timestamp !== b.timestamp ? a.timestamp < b.timestamp : compareNames(a.space, b.space) < 0;
}

const headEntry = (head: Head): StoredEntry => head.chunk[head.index] as StoredEntry;

/**
 * Merges per-space scans (each in its commit order, in chunks) by (timestamp, space), in chunks.
 * Each space keeps its own order because only its head competes and timestamps never decrease along
 * a space's commit order. A linear pick over the heads: a request names a handful of spaces. Every
 * scan is released when the merge ends, however it ends.
 */
export async function* mergeByTimestamp(scans: readonly AsyncIterable<StoredEntry[]>[], limit: number): AsyncGenerator<StoredEntry[]> {
  const iterators = scans.map((scan) => scan[Symbol.asyncIterator]());
  try {
    const heads: Head[] = [];
    for (const iterator of iterators) {
      const next = await iterator.next();
      if (next.done !== true) heads.push({ chunk: next.value, index: 0, iterator });
    }
    let merged: StoredEntry[] = [];
    for (let sent = 0; sent < limit && heads.length > 0; sent++) {
      let first = 0;
      for (let i = 1; i < heads.length; i++) {
        if (before(headEntry(heads[i] as Head), headEntry(heads[first] as Head))) first = i;
      }
      const head = heads[first] as Head;
      merged.push(headEntry(head));
      if (merged.length >= MERGED_CHUNK) {
        yield merged;
        merged = [];
      }
      if (++head.index < head.chunk.length) continue;
      const next = await head.iterator.next();
      if (next.done === true) heads.splice(first, 1);
      else {
        head.chunk = next.value;
        head.index = 0;
      }
    }
    if (merged.length > 0) yield merged;
  } finally {
    await Promise.all(iterators.map(async (iterator) => iterator.return?.()));
  }
}
