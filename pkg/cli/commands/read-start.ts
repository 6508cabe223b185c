import type { StreamsClient } from "../../client/index.js";
import { UsageError } from "./args.js";
import { spaceSnapshot } from "./space-snapshot.js";

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: a duration back from now (`90s`, `15m`, `1h`, `7d`) or a time (`2026-12-06T20:00:00Z`,
 * or milliseconds since epoch) → milliseconds since epoch, the read's minTimestamp.
 */
export function parseSince(text: string, now = Date.now()): number {
  const trimmed = text.trim();
  const duration = /^(\d+)([smhd])$/.exec(trimmed);
  if (duration !== null) return Math.max(0, now - Number(duration[1]) * UNIT_MS[duration[2]!]!);
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const time = Date.parse(trimmed);
  if (/^\d{4}-\d\d-\d\d/.test(trimmed) && Number.isFinite(time)) return time;
  throw new UsageError(`--since: must be a duration back from now (90s, 15m, 1h, 7d) or a time (2026-12-06T20:00:00Z, ms since epoch), got ${JSON.stringify(text)}`);
}

/** The sequence after a segment's head: a read from there gets only entries committed later. */
export async function segmentEnd(client: StreamsClient, storeId: string, space: string, segment: string, signal: AbortSignal): Promise<number> {
  const head = await client.peek(storeId, space, segment, { signal });
  return head.sequence + 1;
}

/** Where a space read starts to get only entries committed from now on: an offset, and a timestamp the server skips up to. */
export interface SpaceEnd {
  offset: string;
  minTimestamp: number;
}

/**
 * The end of a space as a read position. Entry timestamps only grow in a space's commit order
 * (docs/design.md, Stores), so everything committed after the segments' heads were taken has a
 * timestamp at or past the newest head's: the read skips what is older on the server, and starts
 * after the last entry at that timestamp that the heads already counted.
 */
export async function spaceEnd(client: StreamsClient, storeId: string, space: string, signal: AbortSignal): Promise<SpaceEnd> {
  const heads = new Map<string, number>();
  let newest = 0;
  for (const status of await spaceSnapshot(client, storeId, space, signal)) {
    heads.set(status.segment, status.lastSequence);
    newest = Math.max(newest, status.lastTimestamp);
  }
  if (newest === 0) return { offset: "", minTimestamp: 0 };
  let offset = "";
  for await (const entry of client.consumeSpace(storeId, { space, minTimestamp: newest }, { signal })) {
    if (entry.sequence > (heads.get(entry.segment) ?? 0)) break;
    offset = entry.offset;
  }
  return { offset, minTimestamp: newest };
}
