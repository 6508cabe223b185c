import type { StoredEntry } from "../../../store/types.js";
import { encodeMessage } from "../../api/internal/index.js";
import { EntriesPacker } from "../handlers/entries.js";
import type { SegmentPart, TailBlock, TailWindow } from "./tail-window.js";

const NONE: SegmentPart = { entries: [] };

/**
 * One segment's entries of block `number`, with their `entries` message (segment offsets) encoded
 * once for every follower of that segment. Made on first use and kept with the block; the encoding
 * counts against the window's bytes like the block itself (docs/configuration.md, "Live tail").
 */
export function segmentPart(window: TailWindow, number: number, block: TailBlock, segment: string): SegmentPart {
  block.bySegment ??= indexBySegment(block.entries);
  const entries = block.bySegment.get(segment);
  if (entries === undefined) return NONE;
  block.parts ??= new Map();
  const known = block.parts.get(segment);
  if (known !== undefined) return known;
  const packer = new EntriesPacker("segment");
  let full = false;
  for (const entry of entries) full = packer.add(entry) !== undefined || full;
  const batch = packer.finish();
  // Entries that need more than one message (rare: a block holds at most one message of the space) are packed per follower.
  if (full || batch === undefined) return { entries };
  // msgpackr may reuse its buffer for the next message: the part keeps its own copy.
  const bytes = encodeMessage(batch.message).slice();
  const part: SegmentPart = { entries, message: batch.message, bytes };
  if (window.grow(number, bytes.byteLength)) block.parts.set(segment, part);
  return part;
}

function indexBySegment(entries: readonly StoredEntry[]): Map<string, StoredEntry[]> {
  const bySegment = new Map<string, StoredEntry[]>();
  for (const entry of entries) {
    const list = bySegment.get(entry.segment);
    if (list === undefined) bySegment.set(entry.segment, [entry]);
    else list.push(entry);
  }
  return bySegment;
}
