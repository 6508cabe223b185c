import type { SegmentStatus } from "../pkg/api/internal/index.js";
import { StreamsError } from "../pkg/api/internal/index.js";
import type { Record } from "../pkg/api/index.js";
import type { SegmentRange, StoredEntry } from "./types.js";

/** What the producer index needs of its store. */
export interface ProducerStoreOps {
  produce(space: string, segment: string, records: readonly Record[]): Promise<SegmentStatus>;
  readSegment(range: SegmentRange): AsyncIterable<StoredEntry>;
  /**
   * The segment's head and its incarnation, read together: a number that differs once the segment
   * was purged (its sequences start again), so that state read of it before is not used after.
   */
  segmentHead(space: string, segment: string): Promise<{ status: SegmentStatus | undefined; incarnation: number }>;
}

const FIRST_RUN = 64;
const MAX_RUN = 4096;

/**
 * A segment's entries from `to` down to `firstKept`, newest first, in runs that grow from 64 to
 * 4096 entries (each one forward read); the caller stops when it has found what it looks for. Ends
 * with a last, empty run from 1 when they were removed meanwhile (a truncation or purge: nothing is left).
 */
export async function* readBackwards(store: ProducerStoreOps, space: string, segment: string, to: number, firstKept: number): AsyncGenerator<{ from: number; entries: StoredEntry[] }> {
  let run = FIRST_RUN;
  let high = to;
  while (high >= firstKept && high >= 1) {
    const from = Math.max(firstKept, high - run + 1, 1);
    const entries: StoredEntry[] = [];
    try {
      for await (const entry of store.readSegment({ space, segment, minSequence: from, maxSequence: high })) entries.push(entry);
    } catch (error) {
      if (!(error instanceof StreamsError) || error.kind !== "out_of_range") throw error;
      // Removed meanwhile: no entry is left below.
      yield { from: 1, entries: [] };
      return;
    }
    yield { from, entries: entries.reverse() };
    high = from - 1;
    run = Math.min(run * 2, MAX_RUN);
  }
}
