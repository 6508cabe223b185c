import type { PoolClient } from "pg";
import { notFound, type Retention, type SegmentStatus, StreamsError } from "../../pkg/api/internal/index.js";
import { type SegmentHead, statusOf } from "../heads.js";
import { closedHead, deletedHead, truncatedHead } from "../lifecycle.js";
import type { StoreUsage } from "../types.js";
import type { StoreContext } from "./context.js";
import { databaseError } from "./outage.js";

/**
 * Lifecycle changes on PostgreSQL (docs/lifecycle.md, docs/postgres.md). Each change is one short
 * transaction that locks the space's row and then the segment's (the order commit_group takes them
 * in, so the two never deadlock), moves the segment's head and recomputes the space's first kept
 * position. Removed rows stay until the Reclaimer deletes them in batches; reads skip them at once.
 */

/** What one change does to a segment head; `purge` forgets the segment (sequences start at 1 again). */
export type Change = { kind: "truncate"; beforeSequence: number } | { kind: "close" } | { kind: "delete"; purge: boolean };

/** A changed segment: its status, and its row id when rows are now to be reclaimed. */
export interface Changed {
  status: SegmentStatus;
  reclaim: number | undefined;
}

interface SegmentRow {
  id: string;
  segment: string;
  first_sequence: string;
  first_timestamp: string;
  last_sequence: string;
  last_timestamp: string;
  first_position: string;
  closed: boolean;
  deleted: boolean;
}

/** Applies `change` to one segment; `not_found` when it never had entries (or is deleted, but for a delete). */
export async function changeSegment(context: StoreContext, space: string, segment: string, change: Change): Promise<Changed> {
  return transaction(context, `${change.kind} segment`, async (client) => {
    const spaceId = await lockSpace(context, client, space);
    const rows = spaceId === undefined ? [] : await lockSegments(context, client, spaceId, segment);
    const row = rows[0];
    if (spaceId === undefined || row === undefined || (row.deleted && change.kind !== "delete")) {
      throw notFound(`segment ${segment} of space ${space} does not exist`);
    }
    const changed = await applyChange(context, client, space, row, change);
    await recomputeFirstPosition(context, client, spaceId);
    return changed;
  });
}

/** Deletes every segment of a space that is not deleted yet; `not_found` when there is none. */
export async function deleteSpace(context: StoreContext, space: string, purge: boolean): Promise<Changed[]> {
  return transaction(context, "delete space", async (client) => {
    const spaceId = await lockSpace(context, client, space);
    const rows = spaceId === undefined ? [] : await lockSegments(context, client, spaceId);
    const live = rows.filter((row) => purge || !row.deleted);
    if (spaceId === undefined || live.length === 0) throw notFound(`space ${space} has no segments`);
    const changed: Changed[] = [];
    for (const row of live) changed.push(await applyChange(context, client, space, row, { kind: "delete", purge }));
    await recomputeFirstPosition(context, client, spaceId);
    return changed;
  });
}

/**
 * Forgets a whole store in one transaction: spaces, segments, leases and retentions go at once, and
 * the segments' row ids are queued in purged_segments for the Reclaimer. A new space row gets a new
 * id, so the rows left behind never meet a produce to the store opened again. Returns those ids.
 */
export async function deleteStore(context: StoreContext): Promise<number[]> {
  const { schema, storeId } = context;
  return transaction(context, "delete store", async (client) => {
    await client.query(`SELECT 1 FROM ${schema}.spaces WHERE store_id = $1 ORDER BY space FOR UPDATE`, [storeId]);
    const { rows } = await client.query<{ id: string }>(
      `WITH gone AS (DELETE FROM ${schema}.segments sg USING ${schema}.spaces sp WHERE sg.space_id = sp.id AND sp.store_id = $1 RETURNING sg.id)
       INSERT INTO ${schema}.purged_segments (segment_id) SELECT id FROM gone ON CONFLICT DO NOTHING RETURNING segment_id AS id`,
      [storeId],
    );
    await client.query(`DELETE FROM ${schema}.spaces WHERE store_id = $1`, [storeId]);
    await client.query(`DELETE FROM ${schema}.leases WHERE store_id = $1`, [storeId]);
    await client.query(`DELETE FROM ${schema}.retentions WHERE store_id = $1`, [storeId]);
    return rows.map((row) => Number(row.id));
  });
}

export async function setRetention(context: StoreContext, space: string, retention: Retention): Promise<void> {
  const { schema, storeId } = context;
  try {
    if (Object.keys(retention).length === 0) {
      await context.pool.query(`DELETE FROM ${schema}.retentions WHERE store_id = $1 AND space = $2`, [storeId, space]);
    } else {
      await context.pool.query(
        `INSERT INTO ${schema}.retentions (store_id, space, retention) VALUES ($1, $2, $3)
         ON CONFLICT (store_id, space) DO UPDATE SET retention = excluded.retention`,
        [storeId, space, JSON.stringify(retention)],
      );
    }
  } catch (error) {
    throw databaseError(error, "set retention");
  }
}

export async function retentions(context: StoreContext): Promise<Map<string, Retention>> {
  const { schema, storeId } = context;
  try {
    const { rows } = await context.pool.query<{ space: string; retention: Retention }>(
      `SELECT space, retention FROM ${schema}.retentions WHERE store_id = $1 ORDER BY space`,
      [storeId],
    );
    return new Map(rows.map((row) => [row.space, row.retention]));
  } catch (error) {
    throw databaseError(error, "read retentions");
  }
}

/** Kept entries, and payload bytes of the rows still stored (removed rows count until reclaimed). */
export async function usage(context: StoreContext): Promise<StoreUsage> {
  const { schema, storeId } = context;
  try {
    const { rows } = await context.pool.query<{ entries: string; bytes: string }>(
      `SELECT coalesce(sum(greatest(sg.last_sequence - sg.first_sequence + 1, 0)) FILTER (WHERE sg.first_sequence > 0), 0) AS entries,
          coalesce(sum(sg.bytes), 0) AS bytes
        FROM ${schema}.spaces sp JOIN ${schema}.segments sg ON sg.space_id = sp.id WHERE sp.store_id = $1`,
      [storeId],
    );
    return { entries: Number(rows[0]?.entries ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  } catch (error) {
    throw databaseError(error, "usage");
  }
}

async function applyChange(context: StoreContext, client: PoolClient, space: string, row: SegmentRow, change: Change): Promise<Changed> {
  const { schema } = context;
  const head = headOf(row);
  const id = Number(row.id);
  if (change.kind === "delete" && change.purge) {
    await client.query(`DELETE FROM ${schema}.segments WHERE id = $1`, [id]);
    await client.query(`INSERT INTO ${schema}.purged_segments (segment_id) VALUES ($1) ON CONFLICT DO NOTHING`, [id]);
    return { status: statusOf(space, row.segment, deletedHead(head)), reclaim: id };
  }
  let next: SegmentHead;
  if (change.kind === "close") next = closedHead(head);
  else if (change.kind === "delete") next = deletedHead(head);
  else next = truncatedHead(head, change.beforeSequence, placeOf(await firstKept(context, client, id, head, change.beforeSequence)));
  if (next !== head) {
    await client.query(
      `UPDATE ${schema}.segments SET first_sequence = $2, first_timestamp = $3, first_position = $4, closed = $5, deleted = $6 WHERE id = $1`,
      [id, next.firstSequence, next.firstTimestamp, next.firstPosition, next.closed === true, next.deleted === true],
    );
  }
  return { status: statusOf(space, row.segment, next), reclaim: next.firstSequence > head.firstSequence ? id : undefined };
}

/** The timestamp and position of the entry a truncation keeps first, when it keeps one. */
async function firstKept(
  context: StoreContext,
  client: PoolClient,
  id: number,
  head: SegmentHead,
  beforeSequence: number,
): Promise<{ timestamp: number; position: number } | undefined> {
  const first = Math.max(beforeSequence, head.firstSequence);
  if (first > head.lastSequence) return undefined;
  const { rows } = await client.query<{ ts: string; position: string }>(
    `SELECT ts, position FROM ${context.schema}.entries WHERE segment_id = $1 AND sequence = $2`,
    [id, first],
  );
  const found = rows[0];
  return found === undefined ? undefined : { timestamp: Number(found.ts), position: Number(found.position) };
}

function placeOf(place: { timestamp: number; position: number } | undefined): () => { timestamp: number; position: number } {
  return () => {
    if (place === undefined) throw new Error("a kept entry's row is missing");
    return place;
  };
}

function headOf(row: SegmentRow): SegmentHead {
  const head: SegmentHead = {
    firstSequence: Number(row.first_sequence),
    firstTimestamp: Number(row.first_timestamp),
    lastSequence: Number(row.last_sequence),
    lastTimestamp: Number(row.last_timestamp),
    firstPosition: Number(row.first_position),
  };
  if (row.closed) head.closed = true;
  if (row.deleted) head.deleted = true;
  return head;
}

async function lockSpace(context: StoreContext, client: PoolClient, space: string): Promise<number | undefined> {
  const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${context.schema}.spaces WHERE store_id = $1 AND space = $2 FOR UPDATE`, [
    context.storeId,
    space,
  ]);
  return rows[0] === undefined ? undefined : Number(rows[0].id);
}

/** The space's segments that have had entries (or the one named), locked, sorted as commit_group locks them. */
async function lockSegments(context: StoreContext, client: PoolClient, spaceId: number, segment?: string): Promise<SegmentRow[]> {
  const { rows } = await client.query<SegmentRow>(
    `SELECT id, segment, first_sequence, first_timestamp, last_sequence, last_timestamp, first_position, closed, deleted
      FROM ${context.schema}.segments WHERE space_id = $1 AND last_sequence > 0 AND ($2::text IS NULL OR segment = $2)
      ORDER BY segment FOR UPDATE`,
    [spaceId, segment ?? null],
  );
  return rows;
}

/**
 * The space's first kept position: the least of its segments' that keep entries, else just past its
 * last position. It only moves up, since a produce lands after every position there is.
 */
async function recomputeFirstPosition(context: StoreContext, client: PoolClient, spaceId: number): Promise<void> {
  const { schema } = context;
  await client.query(
    `UPDATE ${schema}.spaces sp SET first_position = coalesce(
        (SELECT min(sg.first_position) FROM ${schema}.segments sg
          WHERE sg.space_id = sp.id AND sg.first_sequence > 0 AND sg.first_sequence <= sg.last_sequence),
        sp.last_position + 1)
      WHERE sp.id = $1`,
    [spaceId],
  );
}

async function transaction<T>(context: StoreContext, what: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await context.pool.connect();
  } catch (error) {
    throw databaseError(error, what);
  }
  let failure: unknown;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    failure = error;
    await client.query("ROLLBACK").catch(() => undefined);
    throw databaseError(error, what);
  } finally {
    // A connection that failed mid-transaction is dropped rather than handed out again.
    client.release(failure instanceof Error && !(failure instanceof StreamsError) ? failure : undefined);
  }
}
