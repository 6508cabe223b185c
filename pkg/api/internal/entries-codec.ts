import type { EntriesMessage } from "../messages.js";
import type { EntryGroup } from "./entry-groups.js";
import { MsgpackWriter } from "./msgpack-writer.js";

/**
 * An `entries` message in msgpack, written field by field: the same map msgpackr would write (any
 * msgpack decoder reads it back as the message), at a fraction of msgpackr's generic cost, which
 * led the profile of a catch-up read (docs/performance.md). `metadataBytes` encodes one entry's
 * non-empty metadata map; empty maps, the common case, are one byte written here.
 */
export function encodeEntriesMessage(message: EntriesMessage, metadataBytes: (metadata: { [key: string]: string }) => Uint8Array): Uint8Array | undefined {
  const { groups } = message;
  // A field this writer does not know (added to the message or EntryGroup, not here) goes through msgpackr.
  for (const key in message) if (key !== "$type" && key !== "groups") return undefined;
  for (const group of groups) if (!knownGroup(group)) return undefined;
  const encodedMetadata: Uint8Array[] = [];
  let size = 32 + message.$type.length * 3;
  for (const group of groups) size += groupBound(group, encodedMetadata, metadataBytes);
  const writer = new MsgpackWriter(size);
  writer.mapHeader(2);
  writer.string("$type");
  writer.string(message.$type);
  writer.string("groups");
  writer.arrayHeader(groups.length);
  let nextMetadata = 0;
  for (const group of groups) {
    writer.mapHeader(7 + (group.position === undefined ? 0 : 1) + (group.at === undefined ? 0 : 1));
    writer.string("space");
    writer.string(group.space);
    writer.string("segment");
    writer.string(group.segment);
    writer.string("timestamp");
    writer.number(group.timestamp);
    writer.string("trx");
    writer.mapHeader(3);
    writer.string("id");
    writer.string(group.trx.id);
    writer.string("node");
    writer.string(group.trx.node);
    writer.string("number");
    writer.number(group.trx.number);
    writer.string("first");
    writer.number(group.first);
    if (group.position !== undefined) {
      writer.string("position");
      writer.number(group.position);
    }
    if (group.at !== undefined) {
      writer.string("at");
      writer.number(group.at);
    }
    writer.string("payloads");
    writer.arrayHeader(group.payloads.length);
    for (const payload of group.payloads) writer.bin(payload);
    writer.string("metadata");
    writer.arrayHeader(group.metadata.length);
    for (const metadata of group.metadata) {
      if (isEmpty(metadata)) writer.mapHeader(0);
      else writer.raw(encodedMetadata[nextMetadata++] as Uint8Array);
    }
  }
  return writer.finish();
}

/** At most the bytes `group` takes; encodes its non-empty metadata maps into `encoded`, in order. */
function groupBound(
  group: EntryGroup,
  encoded: Uint8Array[],
  metadataBytes: (metadata: { [key: string]: string }) => Uint8Array,
): number {
  // Keys and headers: well under 160 bytes; strings at most 3 UTF-8 bytes per UTF-16 unit.
  let size = 160 + 3 * (group.space.length + group.segment.length + group.trx.id.length + group.trx.node.length);
  for (const payload of group.payloads) size += payload.byteLength + 5;
  for (const metadata of group.metadata) {
    if (isEmpty(metadata)) size += 1;
    else {
      const bytes = metadataBytes(metadata);
      encoded.push(bytes);
      size += bytes.byteLength;
    }
  }
  return size;
}

/** The fields the writer writes (an optional one that is undefined is left out: decoders read it as absent). */
const GROUP_FIELDS = new Set(["space", "segment", "timestamp", "trx", "first", "position", "at", "payloads", "metadata"]);
const TRX_FIELDS = new Set(["id", "node", "number"]);

function knownGroup(group: EntryGroup): boolean {
  for (const key in group) if (!GROUP_FIELDS.has(key)) return false;
  for (const key in group.trx) if (!TRX_FIELDS.has(key)) return false;
  return true;
}

function isEmpty(metadata: { [key: string]: string } | undefined): boolean {
  for (const _key in metadata) return false;
  return true;
}
