import { invalidArgument } from "../errors.js";

/**
 * Offsets are opaque, URL-safe strings that resume the read they came from.
 * A segment read's offset names the entry's sequence; a space read's (and a multi-space read's)
 * names the entry's commit position in its space, so both kinds of space offset are interchangeable.
 * `""` means "from the start".
 */
export type OffsetKind = "segment" | "space";

export interface DecodedOffset {
  kind: OffsetKind;
  /** Sequence (segment offsets) or commit position (space offsets) of the last entry read. */
  value: number;
}

const PREFIX: Record<OffsetKind, string> = { segment: "s", space: "p" };
const OFFSET_RE = /^([sp])([0-9a-z]{1,11})$/;

export function encodeOffset(kind: OffsetKind, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`offset value must be a safe integer >= 0, got ${value}`);
  return PREFIX[kind] + value.toString(36);
}

export const segmentOffset = (sequence: number): string => encodeOffset("segment", sequence);
export const spaceOffset = (position: number): string => encodeOffset("space", position);

/** Decodes an offset; `""` decodes to undefined (start). Throws `invalid_argument` naming `field`. */
export function decodeOffset(offset: unknown, field = "offset"): DecodedOffset | undefined {
  if (typeof offset !== "string") throw invalidArgument(field, "must be a string");
  if (offset === "") return undefined;
  const match = OFFSET_RE.exec(offset);
  const value = match ? Number.parseInt(match[2] as string, 36) : Number.NaN;
  if (!match || !Number.isSafeInteger(value)) throw invalidArgument(field, "is not an offset this server issued");
  return { kind: match[1] === "s" ? "segment" : "space", value };
}

/** Decodes an offset that must be of `kind`; returns the value, 0 for `""`. */
export function decodeOffsetOf(kind: OffsetKind, offset: unknown, field = "offset"): number {
  const decoded = decodeOffset(offset, field);
  if (decoded === undefined) return 0;
  if (decoded.kind !== kind) throw invalidArgument(field, `is a ${decoded.kind} offset, expected a ${kind} offset`);
  return decoded.value;
}
