import { type SegmentStatus, type StoreStatus } from "../../pkg/api/index.js";
import { segmentOutOfRange, spaceOutOfRange } from "../lifecycle.js";
import { segmentBounds, spaceBounds } from "../read-bounds.js";
import type { SegmentRange, SpaceRange, StoredEntry } from "../types.js";
import { type StoreContext, XID_POSITIONS } from "./context.js";
import { databaseError } from "./outage.js";

/** Rows one read query fetches: a reader holds no connection between chunks, however slowly it reads. */
const CHUNK = 512;

interface EntryRow {
  position: string;
  segment: string;
  sequence: string;
  ts: string;
  trx_id: string;
  trx_node: string;
  trx_number: string;
  payload: Buffer;
  metadata: string | null;
}

const COLUMNS = "e.position, e.segment, e.sequence, e.ts, e.trx_id, e.trx_node, e.trx_number, e.payload, e.metadata";

/**
 * A segment's entries in sequence order, one keyset query per chunk. Sequences of a segment commit in
 * order under its row lock, so a reader resuming after sequence n never misses a later commit. Each
 * query also reads the segment's first kept sequence: rows below it are removed (their deletion may
 * still be pending), and a read that would resume below it fails `out_of_range` (docs/lifecycle.md),
 * unless it began from the start (no minSequence), which starts at the first kept entry.
 */
export async function* readSegmentChunks(context: StoreContext, range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
  const bounds = segmentBounds(range);
  if (bounds.empty) return;
  const { schema, storeId } = context;
  const sql = `SELECT sg.first_sequence AS kept_from, ${COLUMNS} FROM ${schema}.spaces sp
    JOIN ${schema}.segments sg ON sg.space_id = sp.id
    LEFT JOIN LATERAL (SELECT x.*, sg.segment FROM ${schema}.entries x
      WHERE x.segment_id = sg.id AND x.sequence >= greatest($4, sg.first_sequence) AND x.sequence <= $5 AND x.ts >= $6 AND x.ts <= $7
      ORDER BY x.sequence LIMIT $8) e ON true
    WHERE sp.store_id = $1 AND sp.space = $2 AND sg.segment = $3
    ORDER BY e.sequence`;
  let from = bounds.minSequence;
  let fromStart = (range.minSequence ?? 0) === 0;
  let left = bounds.limit;
  while (left > 0) {
    const size = Math.min(CHUNK, left);
    const rows = await query<KeptRow & Partial<EntryRow>>(context, "read segment", sql, [
      storeId,
      range.space,
      range.segment,
      from,
      bounds.maxSequence,
      bounds.minTimestamp,
      bounds.maxTimestamp,
      size,
    ]);
    const keptFrom = Number(rows[0]?.kept_from ?? 0);
    if (!fromStart && from < keptFrom) throw segmentOutOfRange(range.space, range.segment, from, keptFrom);
    fromStart = false;
    const entries = rows.filter((row): row is KeptRow & EntryRow => row.position !== null && row.position !== undefined);
    if (entries.length === 0) return;
    const chunk = entries.map((row) => toEntry(range.space, row));
    yield chunk;
    if (entries.length < size) return;
    left -= entries.length;
    from = (chunk.at(-1) as StoredEntry).sequence + 1;
  }
}

/** The first kept sequence or position that comes with a read's rows. */
interface KeptRow {
  kept_from: string;
}

/**
 * A space's entries in commit order (position order), one keyset query per chunk. In "xid" ordering
 * the read stops below the oldest running transaction's positions: everything there has committed
 * or never will, so nothing can appear later behind what was read. Entries below their segment's
 * first kept sequence are skipped; a read resuming before the space's first kept position fails
 * `out_of_range` (docs/lifecycle.md).
 */
export async function* readSpaceChunks(context: StoreContext, range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
  const bounds = spaceBounds(range);
  if (bounds.empty) return;
  const { schema, storeId } = context;
  const visible =
    context.ordering === "xid" ? `AND x.position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * ${XID_POSITIONS}` : "";
  const sql = `SELECT sp.first_position AS kept_from, ${COLUMNS} FROM ${schema}.spaces sp
    LEFT JOIN LATERAL (SELECT x.*, xs.segment FROM ${schema}.entries x JOIN ${schema}.segments xs ON xs.id = x.segment_id
      WHERE x.space_id = sp.id AND x.position > greatest($3, sp.first_position - 1) ${visible} AND x.sequence >= xs.first_sequence
        AND x.ts >= $4 AND x.ts <= $5
      ORDER BY x.position LIMIT $6) e ON true
    WHERE sp.store_id = $1 AND sp.space = $2
    ORDER BY e.position`;
  let after = bounds.afterPosition;
  let first = true;
  let left = bounds.limit;
  while (left > 0) {
    const size = Math.min(CHUNK, left);
    const rows = await query<KeptRow & Partial<EntryRow>>(context, "read space", sql, [
      storeId,
      range.space,
      after,
      bounds.minTimestamp,
      bounds.maxTimestamp,
      size,
    ]);
    const keptFrom = Number(rows[0]?.kept_from ?? 1);
    if (first && after > 0 && after + 1 < keptFrom) throw spaceOutOfRange(range.space, keptFrom);
    first = false;
    const entries = rows.filter((row): row is KeptRow & EntryRow => row.position !== null && row.position !== undefined);
    if (entries.length === 0) return;
    const chunk = entries.map((row) => toEntry(range.space, row));
    yield chunk;
    if (entries.length < size) return;
    left -= entries.length;
    after = (chunk.at(-1) as StoredEntry).position;
  }
}

/** The latest kept entry of a segment. */
export async function peek(context: StoreContext, space: string, segment: string): Promise<StoredEntry | undefined> {
  const { schema, storeId } = context;
  const rows = await query<EntryRow>(
    context,
    "peek",
    `SELECT ${COLUMNS} FROM ${schema}.spaces sp
      JOIN ${schema}.segments sg ON sg.space_id = sp.id
      JOIN LATERAL (SELECT x.*, sg.segment FROM ${schema}.entries x
        WHERE x.segment_id = sg.id AND x.sequence >= sg.first_sequence ORDER BY x.sequence DESC LIMIT 1) e ON true
      WHERE sp.store_id = $1 AND sp.space = $2 AND sg.segment = $3`,
    [storeId, space, segment],
  );
  return rows[0] === undefined ? undefined : toEntry(space, rows[0]);
}

interface HeadRow {
  segment: string;
  first_sequence: string;
  first_timestamp: string;
  last_sequence: string;
  last_timestamp: string;
  closed: boolean;
  deleted: boolean;
}

/**
 * Heads of a space's segments (or of one), sorted; a segment row left by a refused first batch has
 * none. A listing leaves tombstones out; asked by name, a deleted segment's status is its tombstone.
 */
export async function segmentStatuses(context: StoreContext, space: string, segment?: string): Promise<SegmentStatus[]> {
  return (await segmentHeads(context, space, segment)).map(({ status }) => status);
}

/**
 * One segment's status and its row id, read in one statement: a purge deletes the row and a later
 * write makes a new one, so the id is the segment's incarnation (docs/design.md, Idempotent publish).
 */
export async function segmentHead(context: StoreContext, space: string, segment: string): Promise<{ status: SegmentStatus | undefined; incarnation: number }> {
  const head = (await segmentHeads(context, space, segment))[0];
  return { status: head?.status, incarnation: head?.id ?? 0 };
}

async function segmentHeads(context: StoreContext, space: string, segment?: string): Promise<{ id: number; status: SegmentStatus }[]> {
  const { schema, storeId } = context;
  const rows = await query<HeadRow & { id: string }>(
    context,
    "segment status",
    `SELECT sg.id, sg.segment, sg.first_sequence, sg.first_timestamp, sg.last_sequence, sg.last_timestamp, sg.closed, sg.deleted
      FROM ${schema}.spaces sp JOIN ${schema}.segments sg ON sg.space_id = sp.id
      WHERE sp.store_id = $1 AND sp.space = $2 AND sg.last_sequence > 0 AND ($3::text IS NULL AND NOT sg.deleted OR sg.segment = $3)
      ORDER BY sg.segment`,
    [storeId, space, segment ?? null],
  );
  return rows.map((row) => {
    const status: SegmentStatus = {
      space,
      segment: row.segment,
      firstSequence: Number(row.first_sequence),
      firstTimestamp: Number(row.first_timestamp),
      lastSequence: Number(row.last_sequence),
      lastTimestamp: Number(row.last_timestamp),
    };
    if (row.closed) status.closed = true;
    if (row.deleted) status.deleted = true;
    return { id: Number(row.id), status };
  });
}

export async function listSpaces(context: StoreContext): Promise<string[]> {
  const { schema, storeId } = context;
  const rows = await query<{ space: string }>(
    context,
    "list spaces",
    `SELECT sp.space FROM ${schema}.spaces sp
      WHERE sp.store_id = $1 AND EXISTS (SELECT 1 FROM ${schema}.segments sg WHERE sg.space_id = sp.id AND sg.last_sequence > 0 AND NOT sg.deleted)
      ORDER BY sp.space`,
    [storeId],
  );
  return rows.map((row) => row.space);
}

export async function listSegments(context: StoreContext, space: string): Promise<string[]> {
  return (await segmentStatuses(context, space)).map((status) => status.segment);
}

export async function storeStatus(context: StoreContext): Promise<StoreStatus> {
  const { schema, storeId } = context;
  const rows = await query<{ space: string; segments: string; entries: string; last_timestamp: string }>(
    context,
    "status",
    `SELECT sp.space, count(*) FILTER (WHERE NOT sg.deleted) AS segments,
        coalesce(sum(sg.last_sequence - sg.first_sequence + 1) FILTER (WHERE NOT sg.deleted), 0) AS entries, max(sg.last_timestamp) AS last_timestamp
      FROM ${schema}.spaces sp JOIN ${schema}.segments sg ON sg.space_id = sp.id
      WHERE sp.store_id = $1 AND sg.last_sequence > 0
      GROUP BY sp.space HAVING count(*) FILTER (WHERE NOT sg.deleted) > 0 ORDER BY sp.space`,
    [storeId],
  );
  return {
    storeId,
    spaces: rows.map((row) => ({
      space: row.space,
      segmentCount: Number(row.segments),
      entryCount: Number(row.entries),
      lastTimestamp: Number(row.last_timestamp),
    })),
  };
}

async function query<T extends object>(context: StoreContext, what: string, text: string, values: unknown[]): Promise<T[]> {
  try {
    return (await context.pool.query<T>(text, values)).rows;
  } catch (error) {
    throw databaseError(error, what);
  }
}

function toEntry(space: string, row: EntryRow): StoredEntry {
  return {
    space,
    segment: row.segment,
    sequence: Number(row.sequence),
    timestamp: Number(row.ts),
    trx: { id: row.trx_id, node: row.trx_node, number: Number(row.trx_number) },
    // A plain Uint8Array copy: readers keep entries, not views of the driver's buffers.
    payload: new Uint8Array(row.payload),
    metadata: row.metadata === null ? {} : (JSON.parse(row.metadata) as { [key: string]: string }),
    position: Number(row.position),
  };
}
