import { type Entry, type EntryGroup, MessageTypes, type OffsetKind } from "../../api/internal/index.js";
import type { StoredEntry } from "../../../store/types.js";
import type { HandlerContext } from "./context.js";

/** Bounds of one `entries` message, so a read of any size holds little memory at a time. */
export const MAX_ENTRIES_PER_MESSAGE = 512;
export const MAX_BYTES_PER_MESSAGE = 256 * 1024;

/** Rough encoded size of an entry within its group, enough to keep messages near MAX_BYTES_PER_MESSAGE. */
function estimateSize(entry: StoredEntry): number {
  let size = 8 + entry.payload.byteLength;
  for (const key in entry.metadata) size += key.length + (entry.metadata[key] as string).length + 2;
  return size;
}

/** What a group repeats once: roughly its shared fields' encoded size. */
function groupOverhead(entry: StoredEntry): number {
  return 96 + entry.space.length + entry.segment.length;
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

function startGroup(entry: StoredEntry, offsets: OffsetKind): EntryGroup {
  const group: EntryGroup = {
    space: entry.space,
    segment: entry.segment,
    timestamp: entry.timestamp,
    trx: entry.trx,
    first: entry.sequence,
    payloads: [entry.payload],
    metadata: [entry.metadata],
  };
  if (offsets === "space") group.position = entry.position;
  return group;
}

/** Whether `entry` comes right after `last` in the same committed batch, so it joins last's group. */
function continues(last: StoredEntry, entry: StoredEntry): boolean {
  return (
    entry.trx.id === last.trx.id &&
    entry.sequence === last.sequence + 1 &&
    entry.position === last.position + 1 &&
    entry.segment === last.segment &&
    entry.space === last.space &&
    entry.timestamp === last.timestamp
  );
}

/**
 * Sends a read's entries (chunks, in order) in `entries` messages of bounded size, each entry in a
 * group with the consecutive entries of its batch; `offsets` says which offsets the client derives.
 * Each send is awaited so a slow reader slows the scan instead of growing memory. Stops when the
 * context's signal aborts; ending the loop releases the source (and the store iterator behind it).
 */
export async function sendEntries(
  context: HandlerContext,
  source: AsyncIterable<readonly StoredEntry[]>,
  offsets: OffsetKind,
): Promise<void> {
  let groups: EntryGroup[] = [];
  let group: EntryGroup | undefined;
  let last: StoredEntry | undefined;
  let count = 0;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const message = { $type: MessageTypes.entries, groups };
    groups = [];
    group = undefined;
    count = 0;
    bytes = 0;
    await context.send(message);
  };
  for await (const chunk of source) {
    context.signal.throwIfAborted();
    for (const entry of chunk) {
      const size = estimateSize(entry);
      if (count > 0 && bytes + size > MAX_BYTES_PER_MESSAGE) await flush();
      if (group !== undefined && last !== undefined && continues(last, entry)) {
        group.payloads.push(entry.payload);
        group.metadata.push(entry.metadata);
      } else {
        group = startGroup(entry, offsets);
        groups.push(group);
        bytes += groupOverhead(entry);
      }
      last = entry;
      bytes += size;
      if (++count >= MAX_ENTRIES_PER_MESSAGE) await flush();
    }
  }
  if (count > 0) await flush();
}
