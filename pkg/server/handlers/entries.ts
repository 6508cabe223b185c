import { type Entry, type EntryGroup, type EntriesMessage, MessageTypes, type OffsetKind } from "../../api/internal/index.js";
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
  else group.at = entry.position;
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

/** One `entries` message and the stored entries it carries, in order. */
export interface EntriesBatch {
  message: EntriesMessage;
  entries: StoredEntry[];
}

/**
 * Packs entries, in order, into `entries` messages of bounded size (MAX_ENTRIES_PER_MESSAGE,
 * about MAX_BYTES_PER_MESSAGE), each entry in a group with the consecutive entries of its batch.
 */
export class EntriesPacker {
  #groups: EntryGroup[] = [];
  #entries: StoredEntry[] = [];
  #group: EntryGroup | undefined;
  #last: StoredEntry | undefined;
  #bytes = 0;

  constructor(private readonly offsets: OffsetKind) {}

  /** Adds an entry; returns the message it completed, if it completed one. */
  add(entry: StoredEntry): EntriesBatch | undefined {
    const size = estimateSize(entry);
    const full = this.#entries.length > 0 && this.#bytes + size > MAX_BYTES_PER_MESSAGE ? this.finish() : undefined;
    if (this.#group !== undefined && this.#last !== undefined && continues(this.#last, entry)) {
      this.#group.payloads.push(entry.payload);
      this.#group.metadata.push(entry.metadata);
    } else {
      this.#group = startGroup(entry, this.offsets);
      this.#groups.push(this.#group);
      this.#bytes += groupOverhead(entry);
    }
    this.#last = entry;
    this.#bytes += size;
    this.#entries.push(entry);
    // An entry never fills a message that the byte bound had just ended, so at most one is complete.
    return full ?? (this.#entries.length >= MAX_ENTRIES_PER_MESSAGE ? this.finish() : undefined);
  }

  /** The message of the entries added since the last one completed; undefined when there are none. */
  finish(): EntriesBatch | undefined {
    if (this.#entries.length === 0) return undefined;
    const batch = { message: { $type: MessageTypes.entries, groups: this.#groups }, entries: this.#entries };
    this.#groups = [];
    this.#entries = [];
    this.#group = undefined;
    this.#last = undefined;
    this.#bytes = 0;
    return batch;
  }
}

/**
 * Sends a read's entries (chunks, in order) in `entries` messages of bounded size (EntriesPacker);
 * `offsets` says which offsets the client derives. Each send is awaited so a slow reader slows the
 * scan instead of growing memory. Stops when the context's signal aborts; ending the loop releases
 * the source (and the store iterator behind it).
 */
export async function sendEntries(
  context: HandlerContext,
  source: AsyncIterable<readonly StoredEntry[]>,
  offsets: OffsetKind,
): Promise<void> {
  const packer = new EntriesPacker(offsets);
  for await (const chunk of source) {
    context.signal.throwIfAborted();
    for (const entry of chunk) {
      const full = packer.add(entry);
      if (full !== undefined) await context.send(full.message);
    }
  }
  const rest = packer.finish();
  if (rest !== undefined) await context.send(rest.message);
}
