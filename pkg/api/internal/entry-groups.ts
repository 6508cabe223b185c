import { segmentOffset, spaceOffset } from "./offsets.js";
import type { Entry, Trx } from "../types.js";

/**
 * A run of consecutive entries of one committed batch, as an `entries` message carries them: what
 * the entries share is sent once. Entry i has sequence `first + i`; its offset is the space offset
 * of position `position + i` when `position` is present (space and multi-space reads), else the
 * segment offset of its sequence, with commit position `at + i` when `at` is present (segment reads).
 */
export interface EntryGroup {
  space: string;
  segment: string;
  timestamp: number;
  trx: Trx;
  /** Sequence of the group's first entry. */
  first: number;
  /** Commit position of the group's first entry, on space reads. */
  position?: number;
  /** Commit position of the group's first entry, on segment reads (their offsets carry it to detect a purge). */
  at?: number;
  payloads: Uint8Array[];
  metadata: { [key: string]: string }[];
}

/** The entries of a group, in order, with their offsets; payloads as plain Uint8Array views. */
export function entriesOfGroup(group: EntryGroup): Entry[] {
  const { space, segment, timestamp, trx, first, position, at, payloads, metadata } = group;
  const entries = new Array<Entry>(payloads.length);
  for (let i = 0; i < payloads.length; i++) {
    const payload = payloads[i] as Uint8Array;
    entries[i] = {
      space,
      segment,
      sequence: first + i,
      timestamp,
      trx,
      // Decoders in Node hand out Buffers (unequal to a Uint8Array in deep equality); a view is free.
      payload: payload.constructor === Uint8Array ? payload : new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
      metadata: metadata[i] ?? {},
      offset: position !== undefined ? spaceOffset(position + i) : segmentOffset(first + i, at === undefined ? undefined : at + i),
    };
  }
  return entries;
}

/** The entries of several groups, in order. */
export function entriesOfGroups(groups: readonly EntryGroup[]): Entry[] {
  if (groups.length === 1) return entriesOfGroup(groups[0] as EntryGroup);
  const entries: Entry[] = [];
  for (const group of groups) for (const entry of entriesOfGroup(group)) entries.push(entry);
  return entries;
}
