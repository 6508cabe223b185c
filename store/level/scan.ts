import type { ValueIterator } from "classic-level";
import { StreamsError } from "../../pkg/api/index.js";
import type { TimeBounds } from "../read-bounds.js";
import type { StoredEntry } from "../types.js";
import type { LevelDb } from "./group-commit.js";
import type { KeyRange } from "./keys.js";
import { decodeBatch, type StoredBatch } from "./values.js";

/** Batches fetched per native call, and the bytes a fetch may hold: together they bound a read's memory. */
const CHUNK_BATCHES = 256;
const CHUNK_BYTES = 1024 * 1024;

/** Which entries of the scanned batches a read wants: ordinals (sequences or positions) in [from, to]. */
export interface OrdinalWindow {
  /** Whether ordinals are segment sequences or space positions. */
  by: "sequence" | "position";
  from: number;
  to: number;
}

/**
 * One ordered range scan over stored batches, decoded in chunks, yielding the entries in `window`.
 * Timestamps are non-decreasing along every range a store scans, so the scan ends at the first batch
 * past `maxTimestamp` or past the window.
 */
export async function* scanEntries(
  db: LevelDb,
  space: string,
  range: KeyRange,
  window: OrdinalWindow,
  bounds: TimeBounds,
): AsyncIterableIterator<StoredEntry> {
  if (bounds.empty || window.from > window.to) return;
  const iterator = db.values({ ...range, highWaterMarkBytes: CHUNK_BYTES });
  let count = 0;
  try {
    for (;;) {
      // Each batch holds at least one entry: never fetch more batches than entries still wanted.
      const chunk = await nextChunk(iterator, Math.min(CHUNK_BATCHES, bounds.limit - count));
      if (chunk.length === 0) return;
      for (const value of chunk) {
        const batch = decodeBatch(value);
        if (batch.timestamp > bounds.maxTimestamp) return;
        const base = window.by === "sequence" ? batch.firstSequence : batch.firstPosition;
        if (base > window.to) return;
        if (batch.timestamp < bounds.minTimestamp) continue;
        const start = Math.max(window.from - base, 0);
        const end = Math.min(window.to - base + 1, batch.payloads.length);
        for (let i = start; i < end; i++) {
          yield entryAt(space, batch, i);
          if (++count >= bounds.limit) return;
        }
      }
    }
  } finally {
    await iterator.close();
  }
}

/** The entry at `index` of a stored batch. */
export function entryAt(space: string, batch: StoredBatch, index: number): StoredEntry {
  return {
    space,
    segment: batch.segment,
    sequence: batch.firstSequence + index,
    timestamp: batch.timestamp,
    trx: batch.trx,
    payload: batch.payloads[index] as Uint8Array,
    metadata: batch.metadata[index] as { [key: string]: string },
    position: batch.firstPosition + index,
  };
}

async function nextChunk(iterator: ValueIterator<LevelDb, Buffer, Buffer>, size: number): Promise<Buffer[]> {
  try {
    return await iterator.nextv(size);
  } catch (error) {
    throw StreamsError.from(error, "unavailable");
  }
}
