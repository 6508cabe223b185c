/**
 * Migration 2 of the PostgreSQL store: data lifecycle (docs/lifecycle.md, docs/postgres.md).
 *
 * - segments gain `first_position` (commit position of the first kept entry, for the space's first
 *   kept position), `bytes` (payload bytes of the rows still stored, kept exact by the commits and by
 *   the batched deletes that reclaim rows), `closed` and `deleted` (a tombstone).
 * - spaces gain `first_position`: the first kept commit position of the space, recomputed under the
 *   space's row lock by each lifecycle change, so a space read checks a resume point in one lookup.
 * - retentions: one row per space with a retention. purged_segments: segment rows a hard purge removed
 *   whose entry rows are still to be deleted. sweeps: which instance is sweeping a store, until when.
 * - commit_group refuses a closed segment ('closed') and starts a segment that keeps no entry (new,
 *   emptied or a tombstone) again at the batch, counting payload bytes.
 */
export const LIFECYCLE_MIGRATION = `
  ALTER TABLE {schema}.segments
    ADD COLUMN first_position bigint NOT NULL DEFAULT 0,
    ADD COLUMN bytes bigint NOT NULL DEFAULT 0,
    ADD COLUMN closed boolean NOT NULL DEFAULT false,
    ADD COLUMN deleted boolean NOT NULL DEFAULT false;
  ALTER TABLE {schema}.spaces ADD COLUMN first_position bigint NOT NULL DEFAULT 1;
  UPDATE {schema}.segments sg SET
      first_position = coalesce((SELECT e.position FROM {schema}.entries e WHERE e.segment_id = sg.id AND e.sequence = sg.first_sequence), 0),
      bytes = (SELECT coalesce(sum(octet_length(e.payload)), 0) FROM {schema}.entries e WHERE e.segment_id = sg.id)
    WHERE sg.last_sequence > 0;
  CREATE TABLE {schema}.retentions (
    store_id uuid NOT NULL,
    space text COLLATE "C" NOT NULL,
    retention jsonb NOT NULL,
    PRIMARY KEY (store_id, space)
  );
  CREATE TABLE {schema}.purged_segments (
    segment_id bigint PRIMARY KEY
  );
  CREATE TABLE {schema}.sweeps (
    store_id uuid PRIMARY KEY,
    holder uuid NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE OR REPLACE FUNCTION {schema}.commit_group(
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
    v_closed boolean;
    v_seq bigint;
    v_pos bigint;
    v_ts bigint;
    v_count int;
    v_bytes bigint;
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
      SELECT sg.id, sg.space_id, sg.last_sequence, sg.closed INTO v_segment_id, v_space_id, v_last, v_closed
        FROM {schema}.segments sg JOIN {schema}.spaces sp ON sp.id = sg.space_id
        WHERE sp.store_id = p_store AND sp.space = p_spaces[i] AND sg.segment = p_segments[i];
      IF v_closed THEN
        r_outcome := 'closed';
        IF p_chains[i] <> 0 THEN failed := failed || p_chains[i]; END IF;
        RETURN NEXT;
        rec := rec + v_count;
        CONTINUE;
      END IF;
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
      SELECT coalesce(sum(l), 0) INTO v_bytes FROM unnest(p_lengths[rec + 1 : rec + v_count]) AS l;
      -- A segment that keeps no entry (new, emptied or deleted) starts again at this batch.
      UPDATE {schema}.segments SET
          first_sequence = CASE WHEN first_sequence = 0 OR first_sequence > last_sequence THEN v_seq ELSE first_sequence END,
          first_timestamp = CASE WHEN first_sequence = 0 OR first_sequence > last_sequence THEN v_ts ELSE first_timestamp END,
          first_position = CASE WHEN first_sequence = 0 OR first_sequence > last_sequence THEN v_pos + 1 ELSE first_position END,
          last_sequence = v_seq + v_count - 1,
          last_timestamp = v_ts,
          bytes = bytes + v_bytes,
          deleted = false
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
