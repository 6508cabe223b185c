import { compareNames } from "../../api/index.js";
import type { StoredEntry } from "../../../store/types.js";

interface Head {
  entry: StoredEntry;
  iterator: AsyncIterator<StoredEntry>;
}

function before(a: StoredEntry, b: StoredEntry): boolean {
  return a.timestamp !== b.timestamp ? a.timestamp < b.timestamp : compareNames(a.space, b.space) < 0;
}

/**
 * Merges per-space scans (each in its commit order) by (timestamp, space). Each space keeps its own
 * order because only its head competes and timestamps never decrease along a space's commit order.
 * A linear pick over the heads: a request names a handful of spaces. Every scan is released when
 * the merge ends, however it ends.
 */
export async function* mergeByTimestamp(scans: readonly AsyncIterable<StoredEntry>[], limit: number): AsyncGenerator<StoredEntry> {
  const iterators = scans.map((scan) => scan[Symbol.asyncIterator]());
  try {
    const heads: Head[] = [];
    for (const iterator of iterators) {
      const next = await iterator.next();
      if (next.done !== true) heads.push({ entry: next.value, iterator });
    }
    for (let sent = 0; sent < limit && heads.length > 0; sent++) {
      let first = 0;
      for (let i = 1; i < heads.length; i++) {
        if (before((heads[i] as Head).entry, (heads[first] as Head).entry)) first = i;
      }
      const head = heads[first] as Head;
      yield head.entry;
      const next = await head.iterator.next();
      if (next.done === true) heads.splice(first, 1);
      else head.entry = next.value;
    }
  } finally {
    await Promise.all(iterators.map(async (iterator) => iterator.return?.()));
  }
}
