import { invalidArgument } from "./errors.js";

export const MAX_NAME_BYTES = 256;
/** Reserved name: segment `*` means "every segment" in a subscription. */
export const WILDCARD = "*";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Why `name` is not a valid space or segment name, or undefined when it is. One pass over the
 * UTF-16 code units, counting UTF-8 bytes as it goes: names are checked on every produce and
 * publish, so this stays free of regexes and allocations.
 */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "must be a string";
  if (name.length === 0) return "must not be empty";
  if (name === WILDCARD) return "'*' is reserved";
  let bytes = 0;
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit < 0x80) {
      // U+0000–U+001F and U+007F (docs/design.md, Contracts).
      if (unit < 0x20 || unit === 0x7f) return CONTROL;
      bytes += 1;
    } else if (unit < 0x800) {
      // U+0080–U+009F.
      if (unit <= 0x9f) return CONTROL;
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = name.charCodeAt(i + 1);
      if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return "must be well-formed UTF-8 (lone surrogate)";
      bytes += 4;
      i++;
    } else {
      bytes += 3;
    }
  }
  if (bytes > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes of UTF-8`;
  return undefined;
}

const CONTROL = "must not contain control characters";

export function isValidName(name: unknown): name is string {
  return nameProblem(name) === undefined;
}

/** Throws `invalid_argument` naming `field` unless `name` is a valid space or segment name. */
export function assertName(name: unknown, field: string): asserts name is string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw invalidArgument(field, problem);
}

/** A segment name, or `*` where a subscription allows it. */
export function assertSegmentPattern(name: unknown, field: string): asserts name is string {
  if (name === WILDCARD) return;
  assertName(name, field);
}

export function isValidStoreId(id: unknown): id is string {
  return typeof id === "string" && UUID_RE.test(id);
}

/** Validates a store id (a UUID string) and returns it in lower case. */
export function normalizeStoreId(id: unknown, field = "storeId"): string {
  if (!isValidStoreId(id)) throw invalidArgument(field, "must be a UUID string");
  return id.toLowerCase();
}

/** Orders names by Unicode code point (not UTF-16 unit), as listings are sorted. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx - cy;
  }
}
