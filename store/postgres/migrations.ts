import type { Pool, PoolClient } from "pg";
import { LIFECYCLE_MIGRATION } from "./migration-lifecycle.js";

/**
 * Versioned schema migrations of the PostgreSQL store (docs/postgres.md). Each entry is applied once,
 * in order, in one transaction that also records its version; `{schema}` stands for the quoted schema
 * name. Never edit a released migration: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: streams, heads, leases and the group commit function.
  `
  CREATE TABLE {schema}.spaces (
    id bigserial PRIMARY KEY,
    store_id uuid NOT NULL,
    space text COLLATE "C" NOT NULL,
    last_position bigint NOT NULL DEFAULT 0,
    last_timestamp bigint NOT NULL DEFAULT 0,
    UNIQUE (store_id, space)
  );
  CREATE TABLE {schema}.segments (
    id bigserial PRIMARY KEY,
    space_id bigint NOT NULL,
    segment text COLLATE "C" NOT NULL,
    first_sequence bigint NOT NULL DEFAULT 0,
    first_timestamp bigint NOT NULL DEFAULT 0,
    last_sequence bigint NOT NULL DEFAULT 0,
    last_timestamp bigint NOT NULL DEFAULT 0,
    UNIQUE (space_id, segment)
  );
  CREATE TABLE {schema}.entries (
    space_id bigint NOT NULL,
    position bigint NOT NULL,
    segment_id bigint NOT NULL,
    sequence bigint NOT NULL,
    ts bigint NOT NULL,
    trx_id uuid NOT NULL,
    trx_node text NOT NULL,
    trx_number bigint NOT NULL,
    payload bytea NOT NULL,
    metadata text,
    PRIMARY KEY (space_id, position)
  );
  CREATE UNIQUE INDEX entries_by_segment ON {schema}.entries (segment_id, sequence);
  CREATE SEQUENCE {schema}.trx_numbers;
  CREATE TABLE {schema}.leases (
    store_id uuid NOT NULL,
    key text COLLATE "C" NOT NULL,
    holder text NOT NULL,
    expires_at bigint NOT NULL,
    token bigint NOT NULL,
    PRIMARY KEY (store_id, key)
  );
  ${commitGroupFunction()}
  `,
  // 2: delete, truncate, close, retention and usage (migration-lifecycle.ts).
  LIFECYCLE_MIGRATION,
];

/** The latest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Commits a group of batches in one transaction (one round trip, one WAL flush). Batch i is
 * (spaces[i], segments[i], firsts[i] (0: a publish), counts[i] records); its records' payloads are
 * slices of `payloads` at starts/lengths, with metadata as JSON text (NULL: none). Each batch gets
 * one row back: 'ok' with the segment's head, 'conflict' with expected/actual, or 'chain' when an
 * earlier batch of its produce chain failed in this group.
 *
 * Ordering (docs/deployment.md, "Ordering on PostgreSQL"): with xid_order false, a batch takes its
 * positions from its space's row, locked until commit, so positions become visible in order; with
 * xid_order true, positions are (transaction id << 20) + index and readers stop below the oldest
 * running transaction. Rows are created and locked spaces first, then segments, each sorted, so two
 * groups never deadlock.
 */
function commitGroupFunction(): string {
  return `
  CREATE FUNCTION {schema}.commit_group(
    p_store uuid, p_node text, p_now bigint, p_xid_order boolean,
    p_spaces text[], p_segments text[], p_firsts bigint[], p_counts int[], p_chains int[],
    p_break_expected bigint[], p_break_actual bigint[],
    p_payloads bytea, p_starts int[], p_lengths int[], p_metadata text[])
  RETURNS TABLE (r_outcome text, r_expected bigint, r_actual bigint, r_first_sequence bigint,
    r_first_timestamp bigint, r_last_sequence bigint, r_last_timestamp bigint)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  DECLARE
    n int := coalesce(array_length(p_spaces, 1), 0);
    rec int := 0;
    failed int[] := '{}';
    in_trx bigint := 0;
    xid_base bigint;
    v_space_id bigint;
    v_segment_id bigint;
    v_last bigint;
    v_seq bigint;
    v_pos bigint;
    v_ts bigint;
    v_count int;
  BEGIN
    INSERT INTO {schema}.spaces (store_id, space)
      SELECT DISTINCT p_store, x.space FROM unnest(p_spaces) AS x(space) ORDER BY 2
      ON CONFLICT DO NOTHING;
    IF NOT p_xid_order THEN
      PERFORM 1 FROM {schema}.spaces WHERE store_id = p_store AND space = ANY (p_spaces) ORDER BY space FOR UPDATE;
    END IF;
    INSERT INTO {schema}.segments (space_id, segment)
      SELECT DISTINCT sp.id, x.segment FROM unnest(p_spaces, p_segments) AS x(space, segment)
        JOIN {schema}.spaces sp ON sp.store_id = p_store AND sp.space = x.space
      ORDER BY 1, 2
      ON CONFLICT DO NOTHING;
    PERFORM 1 FROM {schema}.segments sg JOIN {schema}.spaces sp ON sp.id = sg.space_id
      WHERE sp.store_id = p_store AND (sp.space, sg.segment) IN (SELECT * FROM unnest(p_spaces, p_segments))
      ORDER BY sg.space_id, sg.segment FOR UPDATE OF sg;
    IF p_xid_order THEN
      xid_base := (pg_current_xact_id()::text::bigint) * 1048576;
    END IF;
    FOR i IN 1..n LOOP
      v_count := p_counts[i];
      r_outcome := NULL; r_expected := NULL; r_actual := NULL;
      r_first_sequence := NULL; r_first_timestamp := NULL; r_last_sequence := NULL; r_last_timestamp := NULL;
      IF p_chains[i] <> 0 AND p_chains[i] = ANY (failed) THEN
        r_outcome := 'chain';
        RETURN NEXT;
        rec := rec + v_count;
        CONTINUE;
      END IF;
      SELECT sg.id, sg.space_id, sg.last_sequence INTO v_segment_id, v_space_id, v_last
        FROM {schema}.segments sg JOIN {schema}.spaces sp ON sp.id = sg.space_id
        WHERE sp.store_id = p_store AND sp.space = p_spaces[i] AND sg.segment = p_segments[i];
      IF p_firsts[i] = 0 THEN
        v_seq := v_last + 1;
      ELSIF p_firsts[i] <> v_last + 1 OR p_break_expected[i] <> 0 THEN
        r_outcome := 'conflict';
        IF p_firsts[i] <> v_last + 1 THEN
          r_expected := v_last + 1; r_actual := p_firsts[i];
        ELSE
          r_expected := p_break_expected[i]; r_actual := p_break_actual[i];
        END IF;
        IF p_chains[i] <> 0 THEN failed := failed || p_chains[i]; END IF;
        RETURN NEXT;
        rec := rec + v_count;
        CONTINUE;
      ELSE
        v_seq := p_firsts[i];
      END IF;
      IF p_xid_order THEN
        v_pos := xid_base + in_trx;
        in_trx := in_trx + v_count;
        SELECT greatest(p_now, coalesce(max(e.ts), 0)) INTO v_ts
          FROM (SELECT ts FROM {schema}.entries WHERE space_id = v_space_id ORDER BY position DESC LIMIT 1) e;
      ELSE
        UPDATE {schema}.spaces SET last_position = last_position + v_count, last_timestamp = greatest(last_timestamp, p_now)
          WHERE id = v_space_id
          RETURNING last_position - v_count, last_timestamp INTO v_pos, v_ts;
      END IF;
      INSERT INTO {schema}.entries (space_id, position, segment_id, sequence, ts, trx_id, trx_node, trx_number, payload, metadata)
        SELECT v_space_id, v_pos + k, v_segment_id, v_seq + k - 1, v_ts, t.id, p_node, t.number,
          substring(p_payloads FROM p_starts[rec + k] FOR p_lengths[rec + k]), p_metadata[rec + k]
        FROM (SELECT gen_random_uuid() AS id, nextval('{schema}.trx_numbers') AS number) t, generate_series(1, v_count) AS k;
      UPDATE {schema}.segments SET
          first_sequence = CASE WHEN first_sequence = 0 THEN v_seq ELSE first_sequence END,
          first_timestamp = CASE WHEN first_sequence = 0 THEN v_ts ELSE first_timestamp END,
          last_sequence = v_seq + v_count - 1,
          last_timestamp = v_ts
        WHERE id = v_segment_id
        RETURNING first_sequence, first_timestamp, last_sequence, last_timestamp
        INTO r_first_sequence, r_first_timestamp, r_last_sequence, r_last_timestamp;
      r_outcome := 'ok';
      RETURN NEXT;
      rec := rec + v_count;
    END LOOP;
  END
  $fn$;
  `;
}

/** A schema name we accept: a plain lower-case identifier, so it never needs escaping beyond quotes. */
export function checkSchemaName(schema: unknown): asserts schema is string {
  if (typeof schema !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new TypeError("schema must be a lower-case identifier: a-z, 0-9 and _, at most 63 characters, not starting with a digit");
  }
}

export const quoted = (schema: string): string => `"${schema}"`;

/**
 * Brings `schema` to the latest version. Instances starting at once serialize on a transaction-level
 * advisory lock keyed by the schema name, so each migration runs once; needs only the CREATE
 * privilege on the database (or an existing schema owned by the role), never a superuser. `upTo`
 * stops at an older version (tests of an upgrade).
 */
export async function migrate(pool: Pool, schema: string, upTo = SCHEMA_VERSION): Promise<void> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`streamkit-ts migrate ${schema}`]);
    const current = await currentVersion(client, schema);
    if (current > SCHEMA_VERSION) {
      throw new Error(`schema ${schema} is at version ${current}, newer than this streamkit-ts knows (${SCHEMA_VERSION})`);
    }
    for (let version = current + 1; version <= upTo; version++) {
      await client.query((MIGRATIONS[version - 1] as string).replaceAll("{schema}", quoted(schema)));
      await client.query(`INSERT INTO ${quoted(schema)}.migrations (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    failure = error;
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release(failure instanceof Error ? failure : undefined);
  }
}

async function currentVersion(client: PoolClient, schema: string): Promise<number> {
  // Checked first: CREATE SCHEMA IF NOT EXISTS needs the database's CREATE privilege even when it exists.
  const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
  if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted(schema)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${quoted(schema)}.migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${quoted(schema)}.migrations`);
  return rows[0]?.version ?? 0;
}
