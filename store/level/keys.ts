/**
 * Binary key layout of a level store. Names cannot hold control characters, so a 0x00 byte ends
 * each name, and UTF-8 byte order is code-point order: every listing and range below is one
 * ordered scan.
 *
 *   0x01 space 0x00 segment 0x00 lastSequence:u64be   a committed batch, by segment (segment reads)
 *   0x02 space 0x00 lastPosition:u64be                the same batch, by commit position (space reads)
 *   0x03 space 0x00 segment                           a segment's head
 *   0x04 space                                        a space's head
 *   0x05                                              the store's head (commit counter)
 *   0x06 key                                          a lease (holder, expiry, last token)
 *   0x07 space                                        a space's retention (docs/lifecycle.md)
 *
 * Batches are keyed by their last sequence and position, so the first batch a read needs is the
 * first key at or after the read's lower bound: a read seeks once and scans forward.
 */
const SEGMENT_BATCH = 0x01;
const SPACE_BATCH = 0x02;
const SEGMENT_HEAD = 0x03;
const SPACE_HEAD = 0x04;
const STORE_HEAD = 0x05;
const LEASE = 0x06;
const RETENTION = 0x07;
const END = 0x00;
const NUMBER_BYTES = 8;
const TWO_32 = 2 ** 32;

export interface KeyRange {
  gt?: Buffer;
  gte?: Buffer;
  lte?: Buffer;
  lt?: Buffer;
}

export const STORE_HEAD_KEY = Buffer.from([STORE_HEAD]);

/** Key prefix of a segment's batches; complete a key with `numberKey` (which copies it). */
export function segmentBatchPrefix(space: string, segment: string): Buffer {
  return cachedPrefix(`${space}\u0000${segment}`, () => Buffer.concat([Buffer.from([SEGMENT_BATCH]), nameBytes(space), nameBytes(segment)]));
}

/** Key prefix of a space's batches; complete a key with `numberKey` (which copies it). */
export function spaceBatchPrefix(space: string): Buffer {
  return cachedPrefix(space, () => Buffer.concat([Buffer.from([SPACE_BATCH]), nameBytes(space)]));
}

// Every commit needs two prefixes, mostly of the same few segments; names hold no NUL, so a space
// key and a `space NUL segment` key never collide. Bounded: cleared when full.
const MAX_CACHED_PREFIXES = 4096;
const prefixes = new Map<string, Buffer>();

function cachedPrefix(id: string, build: () => Buffer): Buffer {
  let prefix = prefixes.get(id);
  if (prefix === undefined) {
    if (prefixes.size >= MAX_CACHED_PREFIXES) prefixes.clear();
    prefix = build();
    prefixes.set(id, prefix);
  }
  return prefix;
}

/** `prefix` followed by `value` as a big-endian u64, so keys sort by value. */
export function numberKey(prefix: Buffer, value: number): Buffer {
  const key = Buffer.allocUnsafe(prefix.length + NUMBER_BYTES);
  prefix.copy(key, 0);
  key.writeUInt32BE(Math.floor(value / TWO_32), prefix.length);
  key.writeUInt32BE(value >>> 0, prefix.length + 4);
  return key;
}

export function segmentHeadKey(space: string, segment: string): Buffer {
  return Buffer.concat([Buffer.from([SEGMENT_HEAD]), nameBytes(space), Buffer.from(segment, "utf8")]);
}

export function spaceHeadKey(space: string): Buffer {
  return Buffer.concat([Buffer.from([SPACE_HEAD]), Buffer.from(space, "utf8")]);
}

export function leaseKey(key: string): Buffer {
  return Buffer.concat([Buffer.from([LEASE]), Buffer.from(key, "utf8")]);
}

/** Lease keys after `after` (every one when undefined), in key order. */
export function leasesAfter(after: string | undefined): KeyRange {
  return { ...(after === undefined ? { gte: Buffer.from([LEASE]) } : { gt: leaseKey(after) }), lt: Buffer.from([LEASE + 1]) };
}

export function parseLeaseKey(key: Buffer): string {
  return key.toString("utf8", 1);
}

export function retentionKey(space: string): Buffer {
  return Buffer.concat([Buffer.from([RETENTION]), Buffer.from(space, "utf8")]);
}

export const RETENTIONS: KeyRange = { gte: Buffer.from([RETENTION]), lt: Buffer.from([RETENTION + 1]) };

export function parseRetentionKey(key: Buffer): string {
  return key.toString("utf8", 1);
}

/**
 * What opening a store reads, in one scan: segment heads, space heads, the store head and (past the
 * leases, which the scan seeks over to RETENTIONS.gte) the retentions.
 */
export const OPEN_SCAN: KeyRange = { gte: Buffer.from([SEGMENT_HEAD]), lt: Buffer.from([RETENTION + 1]) };
export const isSegmentHeadKey = (key: Buffer): boolean => key[0] === SEGMENT_HEAD;
export const isSpaceHeadKey = (key: Buffer): boolean => key[0] === SPACE_HEAD;
export const isLeaseKey = (key: Buffer): boolean => key[0] === LEASE;
export const isRetentionKey = (key: Buffer): boolean => key[0] === RETENTION;

export const SEGMENT_HEADS: KeyRange = { gte: Buffer.from([SEGMENT_HEAD]), lt: Buffer.from([SEGMENT_HEAD + 1]) };
export const SPACE_HEADS: KeyRange = { gte: Buffer.from([SPACE_HEAD]), lt: Buffer.from([SPACE_HEAD + 1]) };

/** The space and segment a segment head key names. */
export function parseSegmentHeadKey(key: Buffer): [space: string, segment: string] {
  const end = key.indexOf(END, 1);
  return [key.toString("utf8", 1, end), key.toString("utf8", end + 1)];
}

export function parseSpaceHeadKey(key: Buffer): string {
  return key.toString("utf8", 1);
}

function nameBytes(name: string): Buffer {
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(name, "utf8") + 1);
  bytes.write(name, 0, "utf8");
  bytes[bytes.length - 1] = END;
  return bytes;
}
