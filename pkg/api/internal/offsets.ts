import { invalidArgument } from "../errors.js";

/**
 * Offsets are opaque, URL-safe strings that resume the read they came from.
 * A segment read's offset names the entry's sequence and (since purge detection) its commit position
 * in its space, which no later entry of the space ever gets again: a resume checks it against the
 * stored entry to tell a purged segment written again from the one it read (docs/design.md,
 * "Offsets"); an offset without it resumes by sequence alone. A space read's (and a multi-space
 * read's) names the entry's commit position, so both kinds of space offset are interchangeable.
 * `""` means "from the start".
 */
export type OffsetKind = "segment" | "space";

export interface DecodedOffset {
  kind: OffsetKind;
  /** Sequence (segment offsets) or commit position (space offsets) of the last entry read. */
  value: number;
  /** Segment offsets: the entry's commit position in its space, when the offset carries it. */
  position?: number;
}

const PREFIX: Record<OffsetKind, string> = { segment: "s", space: "p" };
const OFFSET_RE = /^([sp])([0-9a-z]{1,11})(?:_([0-9a-z]{1,11}))?$/;

export function encodeOffset(kind: OffsetKind, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`offset value must be a safe integer >= 0, got ${value}`);
  return PREFIX[kind] + value.toString(36);
}

/** A segment offset: the entry's sequence, and its commit position when known (what a resume checks). */
export function segmentOffset(sequence: number, position?: number): string {
  const offset = encodeOffset("segment", sequence);
  if (position === undefined) return offset;
  if (!Number.isSafeInteger(position) || position < 1) throw new TypeError(`offset position must be a safe integer >= 1, got ${position}`);
  return `${offset}_${position.toString(36)}`;
}

export const spaceOffset = (position: number): string => encodeOffset("space", position);

/** Decodes an offset; `""` decodes to undefined (start). Throws `invalid_argument` naming `field`. */
export function decodeOffset(offset: unknown, field = "offset"): DecodedOffset | undefined {
  if (typeof offset !== "string") throw invalidArgument(field, "must be a string");
  if (offset === "") return undefined;
  const match = OFFSET_RE.exec(offset);
  const value = match ? Number.parseInt(match[2] as string, 36) : Number.NaN;
  if (!match || !Number.isSafeInteger(value)) throw invalidArgument(field, "is not an offset this server issued");
  const kind = match[1] === "s" ? "segment" : "space";
  if (match[3] === undefined) return { kind, value };
  const position = Number.parseInt(match[3], 36);
  if (kind !== "segment" || !Number.isSafeInteger(position) || position < 1) throw invalidArgument(field, "is not an offset this server issued");
  return { kind, value, position };
}

/** Decodes an offset that must be of `kind`; returns the value, 0 for `""`. */
export function decodeOffsetOf(kind: OffsetKind, offset: unknown, field = "offset"): number {
  return decodeOffsetOfKind(kind, offset, field)?.value ?? 0;
}

/** Decodes an offset that must be of `kind`; undefined for `""`. */
export function decodeOffsetOfKind(kind: OffsetKind, offset: unknown, field = "offset"): DecodedOffset | undefined {
  const decoded = decodeOffset(offset, field);
  if (decoded === undefined) return undefined;
  if (decoded.kind !== kind) throw invalidArgument(field, `is a ${decoded.kind} offset, expected a ${kind} offset`);
  return decoded;
}
