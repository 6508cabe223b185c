import { type Entry, MessageTypes } from "../../api/index.js";
import type { StoredEntry } from "../../../store/types.js";
import type { HandlerContext } from "./context.js";

/** Bounds of one `entries` message, so a read of any size holds little memory at a time. */
export const MAX_ENTRIES_PER_MESSAGE = 512;
export const MAX_BYTES_PER_MESSAGE = 256 * 1024;

/** Rough encoded size of an entry, enough to keep messages near MAX_BYTES_PER_MESSAGE. */
function estimateSize(entry: Entry): number {
  let size = 64 + entry.payload.byteLength + entry.space.length + entry.segment.length + entry.offset.length;
  for (const [key, value] of Object.entries(entry.metadata)) size += key.length + value.length + 2;
  return size;
}

/** The wire entry of a stored one, with the offset that resumes the read it came from. */
export function toEntry(stored: StoredEntry, offset: string): Entry {
  return {
    space: stored.space,
    segment: stored.segment,
    sequence: stored.sequence,
    timestamp: stored.timestamp,
    trx: stored.trx,
    payload: stored.payload,
    metadata: stored.metadata,
    offset,
  };
}

/**
 * Sends entries as they come in `entries` messages of bounded size, awaiting each send so a slow
 * reader slows the scan instead of growing memory. Stops when the context's signal aborts; ending
 * the loop releases the source (and the store iterator behind it).
 */
export async function sendEntries(context: HandlerContext, source: AsyncIterable<Entry>): Promise<void> {
  let batch: Entry[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const entries = batch;
    batch = [];
    bytes = 0;
    await context.send({ $type: MessageTypes.entries, entries });
  };
  for await (const entry of source) {
    context.signal.throwIfAborted();
    const size = estimateSize(entry);
    if (batch.length > 0 && bytes + size > MAX_BYTES_PER_MESSAGE) await flush();
    batch.push(entry);
    bytes += size;
    if (batch.length >= MAX_ENTRIES_PER_MESSAGE) await flush();
  }
  if (batch.length > 0) await flush();
}

/** Maps a store scan to wire entries. */
export async function* withOffsets(
  source: AsyncIterable<StoredEntry>,
  offsetOf: (entry: StoredEntry) => string,
): AsyncGenerator<Entry> {
  for await (const stored of source) yield toEntry(stored, offsetOf(stored));
}
