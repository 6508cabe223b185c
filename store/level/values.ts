import { Packr } from "msgpackr";
import type { Record, Retention, Trx } from "../../pkg/api/internal/index.js";
import type { BatchPlacement, SegmentHead } from "../heads.js";
import { BatchReader } from "./batch-reader.js";

// Plain msgpack arrays: compact, and the cheapest shape for msgpackr to decode.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: "number" });

/** One committed batch as stored: what its entries share, once, then each record's payload and metadata. */
export interface StoredBatch {
  segment: string;
  firstSequence: number;
  firstPosition: number;
  timestamp: number;
  trx: Trx;
  payloads: Uint8Array[];
  metadata: { [key: string]: string }[];
}

type BatchValue = [
  segment: string,
  firstSequence: number,
  firstPosition: number,
  timestamp: number,
  trxId: string,
  trxNode: string,
  trxNumber: number,
  payloads: Uint8Array[],
  metadata: { [key: string]: string }[],
];

/** A batch's stored value; the same bytes go under its segment key and its space key. */
export function encodeBatch(placement: Pick<BatchPlacement, "segment" | "firstSequence" | "firstPosition" | "timestamp">, trx: Trx, records: readonly Record[]): Buffer {
  const payloads: Uint8Array[] = new Array<Uint8Array>(records.length);
  const metadata: { [key: string]: string }[] = new Array<{ [key: string]: string }>(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as Record;
    payloads[i] = record.payload;
    metadata[i] = record.metadata ?? {};
  }
  const value: BatchValue = [
    placement.segment,
    placement.firstSequence,
    placement.firstPosition,
    placement.timestamp,
    trx.id,
    trx.node,
    trx.number,
    payloads,
    metadata,
  ];
  return packr.pack(value);
}

export function decodeBatch(bytes: Buffer): StoredBatch {
  // Decoding from a plain Uint8Array view makes payloads plain Uint8Arrays (not Buffers), as from every backend.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return readBatch(view);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  const [segment, firstSequence, firstPosition, timestamp, id, node, number, payloads, metadata] = packr.unpack(view) as BatchValue;
  return { segment, firstSequence, firstPosition, timestamp, trx: { id, node, number }, payloads, metadata };
}

/**
 * A batch value in the forms encodeBatch writes, read by hand (BatchReader): payloads are views of
 * the value, metadata maps are decoded only when not empty. RangeError on anything else.
 */
function readBatch(view: Uint8Array): StoredBatch {
  const reader = new BatchReader(view);
  if (reader.arrayLength() !== 9) throw new RangeError("not a batch value");
  const segment = reader.string();
  const firstSequence = reader.number();
  const firstPosition = reader.number();
  const timestamp = reader.number();
  const trx: Trx = { id: reader.string(), node: reader.string(), number: reader.number() };
  const count = reader.arrayLength();
  const payloads = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) payloads[i] = reader.bin();
  if (reader.arrayLength() !== count) throw new RangeError("metadata and payloads differ in length");
  const metadata = new Array<{ [key: string]: string }>(count);
  for (let i = 0; i < count; i++) {
    if (reader.emptyMap()) metadata[i] = {};
    else {
      const start = reader.at;
      reader.skipStringMap();
      metadata[i] = packr.unpack(reader.since(start)) as { [key: string]: string };
    }
  }
  return { segment, firstSequence, firstPosition, timestamp, trx, payloads, metadata };
}

/** Flags of a stored segment head (docs/lifecycle.md). */
const CLOSED = 1;
const DELETED = 2;

export function encodeSegmentHead(head: SegmentHead): Buffer {
  const flags = (head.closed === true ? CLOSED : 0) | (head.deleted === true ? DELETED : 0);
  return packr.pack([head.firstSequence, head.firstTimestamp, head.lastSequence, head.lastTimestamp, head.firstPosition, flags]);
}

export function decodeSegmentHead(bytes: Buffer): SegmentHead {
  const [firstSequence, firstTimestamp, lastSequence, lastTimestamp, firstPosition, flags] = packr.unpack(bytes) as [
    number,
    number,
    number,
    number,
    number?,
    number?,
  ];
  // Heads written before lifecycle support have no position: nothing was removed, so 1 is never too late.
  const head: SegmentHead = { firstSequence, firstTimestamp, lastSequence, lastTimestamp, firstPosition: firstPosition ?? 1 };
  if (((flags ?? 0) & CLOSED) !== 0) head.closed = true;
  if (((flags ?? 0) & DELETED) !== 0) head.deleted = true;
  return head;
}

export function encodeRetention(retention: Retention): Buffer {
  return packr.pack(retention);
}

export function decodeRetention(bytes: Buffer): Retention {
  return packr.unpack(bytes) as Retention;
}

export function encodeSpaceHead(lastPosition: number, lastTimestamp: number): Buffer {
  return packr.pack([lastPosition, lastTimestamp]);
}

export function decodeSpaceHead(bytes: Buffer): [lastPosition: number, lastTimestamp: number] {
  return packr.unpack(bytes) as [number, number];
}

export function encodeCommitNumber(commitNumber: number): Buffer {
  return packr.pack(commitNumber);
}

export function decodeCommitNumber(bytes: Buffer): number {
  return packr.unpack(bytes) as number;
}
