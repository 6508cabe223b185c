import { invalidArgument } from "./errors.js";

export const MAX_NAME_BYTES = 256;
/** Reserved name: segment `*` means "every segment" in a subscription. */
export const WILDCARD = "*";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// U+0000–U+001F and U+007F–U+009F (DESIGN §8).
// biome-ignore lint: control characters are the point of this pattern
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const encoder = new TextEncoder();

/** Why `name` is not a valid space or segment name, or undefined when it is. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "must be a string";
  if (name.length === 0) return "must not be empty";
  if (name === WILDCARD) return "'*' is reserved";
  if (LONE_SURROGATE_RE.test(name)) return "must be well-formed UTF-8 (lone surrogate)";
  if (CONTROL_RE.test(name)) return "must not contain control characters";
  if (name.length > MAX_NAME_BYTES || encoder.encode(name).length > MAX_NAME_BYTES) {
    return `must be at most ${MAX_NAME_BYTES} bytes of UTF-8`;
  }
  return undefined;
}

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
