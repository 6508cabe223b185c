/**
 * Durable Streams offsets and cursors (docs/http.md). An offset names a position in a stream's data:
 * the count of data entries before it, zero-padded so that offsets sort as strings in stream order.
 * It takes the `<16 digits>_<16 digits>` shape other servers of the protocol mint (and its conformance
 * suite writes by hand for the start of a stream); the first part is always zero here.
 */

const WIDTH = 16;
const EPOCH = "0".repeat(WIDTH);
const OFFSET_RE = /^0{16}_[0-9]{16}$/;

/** A position read from the `offset` query parameter: a number, the stream start, or the tail. */
export type OffsetQuery = { kind: "position"; position: number } | { kind: "now" };

export function formatOffset(position: number): string {
  return `${EPOCH}_${String(position).padStart(WIDTH, "0")}`;
}

/** Parses an offset the server minted (or the sentinels `-1` and `now`); undefined when malformed. */
export function parseOffset(value: string): OffsetQuery | undefined {
  if (value === "-1") return { kind: "position", position: 0 };
  if (value === "now") return { kind: "now" };
  if (!OFFSET_RE.test(value)) return undefined;
  const position = Number(value.slice(WIDTH + 1));
  return Number.isSafeInteger(position) ? { kind: "position", position } : undefined;
}

/** Cursor intervals: 20 s counted from 2024-10-09T00:00:00Z, as the protocol suggests for CDN collapsing. */
const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9);
const CURSOR_INTERVAL_MS = 20_000;

/** The cursor for a live response: the current interval, or past the client's when it has caught up, so cursors never repeat. */
export function nextCursor(clientCursor: string | null, now = Date.now()): string {
  const interval = Math.floor((now - CURSOR_EPOCH_MS) / CURSOR_INTERVAL_MS);
  const client = clientCursor !== null && /^[0-9]{1,15}$/.test(clientCursor) ? Number(clientCursor) : -1;
  if (client < interval) return String(interval);
  // 1–3600 s of jitter, in intervals.
  return String(client + 1 + Math.floor(Math.random() * (3600_000 / CURSOR_INTERVAL_MS)));
}
