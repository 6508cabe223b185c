import type { ValueIterator } from "classic-level";
import { StreamsError } from "../../pkg/api/index.js";
import { segmentOutOfRange } from "../lifecycle.js";
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
  /**
   * The first sequence each segment keeps now. Entries below it were removed but may still be on
   * disk (in a batch partly kept, not reclaimed yet, or in the snapshot a scan reads): a space read
   * skips them, a segment read that reaches one fails with `out_of_range` (docs/lifecycle.md).
   */
  firstSequence?: (segment: string) => number;
}

/**
 * One ordered range scan over stored batches, decoded in chunks (one per native fetch), yielding the
 * entries in `window` as non-empty arrays. Timestamps are non-decreasing along every range a store
 * scans, so the scan ends at the first batch past `maxTimestamp` or past the window.
 */
export async function* scanChunks(
  db: LevelDb,
  space: string,
  range: KeyRange,
  window: OrdinalWindow,
  bounds: TimeBounds,
): AsyncIterableIterator<StoredEntry[]> {
  if (bounds.empty || window.from > window.to) return;
  const iterator = db.values({ ...range, highWaterMarkBytes: CHUNK_BYTES });
  let count = 0;
  try {
    for (;;) {
      // Each batch holds at least one entry: never fetch more batches than entries still wanted.
      const values = await nextChunk(iterator, Math.min(CHUNK_BATCHES, bounds.limit - count));
      if (values.length === 0) return;
      const entries: StoredEntry[] = [];
      const ended = collect(values, space, window, bounds, entries, bounds.limit - count);
      count += entries.length;
      if (entries.length > 0) yield entries;
      if (ended || count >= bounds.limit) return;
    }
  } finally {
    await iterator.close();
  }
}

/** scanChunks one entry at a time. */
export async function* scanEntries(
  db: LevelDb,
  space: string,
  range: KeyRange,
  window: OrdinalWindow,
  bounds: TimeBounds,
): AsyncIterableIterator<StoredEntry> {
  for await (const chunk of scanChunks(db, space, range, window, bounds)) yield* chunk;
}

/** Appends the wanted entries of fetched batches to `entries`, at most `room`; true when the scan is over. */
function collect(
  values: readonly Buffer[],
  space: string,
  window: OrdinalWindow,
  bounds: TimeBounds,
  entries: StoredEntry[],
  room: number,
): boolean {
  for (const value of values) {
    const batch = decodeBatch(value);
    if (batch.timestamp > bounds.maxTimestamp) return true;
    const base = window.by === "sequence" ? batch.firstSequence : batch.firstPosition;
    if (base > window.to) return true;
    if (batch.timestamp < bounds.minTimestamp) continue;
    let start = Math.max(window.from - base, 0);
    if (window.firstSequence !== undefined) {
      const first = window.firstSequence(batch.segment);
      if (window.by === "position") start = Math.max(start, first - batch.firstSequence);
      else if (batch.firstSequence + start < first && start < batch.payloads.length) {
        throw segmentOutOfRange(space, batch.segment, batch.firstSequence + start, first);
      }
    }
    const end = Math.min(window.to - base + 1, batch.payloads.length);
    for (let i = start; i < end; i++) {
      entries.push(entryAt(space, batch, i));
      if (entries.length >= room) return true;
    }
  }
  return false;
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
