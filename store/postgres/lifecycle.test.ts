import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeOffsetOf, type SegmentStatus } from "../../pkg/api/internal/index.js";
import { postgres, skipping } from "../../test/support/services.js";
import { dropSchema, randomSchema } from "../../test/support/pg-schema.js";
import { bounded } from "../../test/support/waits.js";
import { bytes, collect, expectCommitOrder, failure, records, sequences } from "../conformance/support.js";
import type { Store } from "../types.js";
import type { Ordering } from "./context.js";
import { createPostgresStoreFactoryWith, type PostgresStoreFactory } from "./factory.js";
import type { PostgresStore } from "./postgres-store.js";
import { migrate, quoted } from "./migrations.js";
import { RECLAIM_BATCH } from "./reclaim.js";
import { GroupCommit } from "./writes.js";

/**
 * Lifecycle on PostgreSQL beyond the shared conformance cases: several instances on one database
 * (each its own factory and pool, as separate server processes), rows really deleted in batches,
 * the sweep run by one instance at a time while every instance produces.
 */
const url = postgres.url;
const schema = randomSchema();

if (!skipping(postgres, "PostgreSQL lifecycle") && url !== undefined) {
  const connectionString = url;
  afterAll(() => dropSchema(connectionString, schema));

  describe("PostgreSQL lifecycle across instances", () => {
    let factories: PostgresStoreFactory[];
    let stores: Store[];
    let storeId: string;
    let client: pg.Client;

    async function instance(ordering: Ordering = "counter", id = storeId): Promise<PostgresStore> {
      const factory = createPostgresStoreFactoryWith({ connectionString, schema, nodeId: `i${factories.length}`, pool: { max: 4 } }, { ordering });
      factories.push(factory);
      const store = await factory.open(id);
      stores.push(store);
      return store as PostgresStore;
    }

    /** Entry rows still stored for the store's segment (removed or not). */
    async function rows(space: string, segment: string): Promise<number> {
      const result = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".entries e JOIN "${schema}".segments sg ON sg.id = e.segment_id
          JOIN "${schema}".spaces sp ON sp.id = sg.space_id WHERE sp.store_id = $1 AND sp.space = $2 AND sg.segment = $3`,
        [storeId, space, segment],
      );
      return Number(result.rows[0]?.n);
    }

    async function segmentIds(): Promise<number[]> {
      const result = await client.query<{ id: string }>(
        `SELECT sg.id FROM "${schema}".segments sg JOIN "${schema}".spaces sp ON sp.id = sg.space_id WHERE sp.store_id = $1`,
        [storeId],
      );
      return result.rows.map((row) => Number(row.id));
    }

    async function rowsOf(ids: number[]): Promise<number> {
      const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".entries WHERE segment_id = ANY ($1)`, [ids]);
      return Number(result.rows[0]?.n);
    }

    beforeEach(async () => {
      factories = [];
      stores = [];
      storeId = randomUUID();
      client = new pg.Client({ connectionString });
      await client.connect();
    });

    afterEach(async () => {
      for (const store of stores) await store.close();
      for (const factory of factories) await factory.close();
      await client.end();
    });

    it("deletes truncated rows in batches and counts the bytes that remain", async () => {
      const store = await instance();
      const total = RECLAIM_BATCH * 2 + 500;
      for (let from = 1; from <= total; from += 500) await store.produce("s", "g", records(from, from + 499));
      const before = await store.usage();
      expect(before.entries).toBe(total);
      await store.truncateSegment("s", "g", total - 99);
      // Reads skip the removed rows at once, whether or not they are deleted yet.
      expect(sequences(await collect(store.readSegment({ space: "s", segment: "g" })))).toHaveLength(100);
      await bounded(store.reclaimed(), "the removed rows to be deleted");
      expect(await rows("s", "g")).toBe(100);
      const after = await store.usage();
      expect(after.entries).toBe(100);
      const kept = records(total - 99, total).reduce((sum, record) => sum + record.payload.byteLength, 0);
      expect(after.bytes).toBe(kept);
    });

    it("tells a reader on another instance that its resume point was trimmed, and where to carry on", async () => {
      const [a, b] = [await instance(), await instance()];
      await a.produce("s", "g", records(1, 10));
      await b.produce("s", "h", records(1, 5));
      await a.produce("s", "g", records(11, 20));
      const seen = await collect(b.readSpace({ space: "s", limit: 3 }));
      await a.truncateSegment("s", "g", 15);
      await a.truncateSegment("s", "h", 6);
      // Segment read resuming inside the removed range: out_of_range naming the first kept sequence.
      expect((await failure(() => b.readSegment({ space: "s", segment: "g", minSequence: 4 }))).details).toEqual({ firstSequence: 15 });
      // Space read resuming after the last entry it saw: out_of_range with the offset to carry on from.
      const error = await failure(() => b.readSpace({ space: "s", afterPosition: seen.at(-1)?.position }));
      expect(error).toMatchObject({ kind: "out_of_range", code: "permanent" });
      const resumed = await collect(b.readSpace({ space: "s", afterPosition: decodeOffsetOf("space", (error.details as { firstOffset: string }).firstOffset) }));
      expect(resumed.map((entry) => `${entry.segment}${entry.sequence}`)).toEqual(["g15", "g16", "g17", "g18", "g19", "g20"]);
      expect(await collect(b.readSpace({ space: "s" }))).toEqual(resumed);
    });

    it("keeps tombstones and closed segments for every instance", async () => {
      const [a, b] = [await instance(), await instance()];
      await a.produce("s", "g", records(1, 3));
      await a.produce("s", "x", records(1, 3));
      await a.deleteSegment("s", "g");
      await a.closeSegment("s", "x");
      expect(await b.listSegments("s")).toEqual(["x"]);
      expect((await failure(() => b.produce("s", "g", records(1, 1)))).details).toEqual({ expected: 4, actual: 1 });
      expect((await b.publish("s", "g", bytes("again"))).firstSequence).toBe(4);
      const refused = await Promise.allSettled([b.publish("s", "x", bytes("p")), b.produce("s", "x", records(4, 4))]);
      for (const result of refused) expect(result).toMatchObject({ status: "rejected", reason: { kind: "failed_precondition" } });
      expect(await a.segmentStatus("s", "x")).toMatchObject({ lastSequence: 3, closed: true });
    });

    it("keeps every produce of both instances while both sweep, and one sweeps at a time", async () => {
      const [a, b] = [await instance(), await instance()];
      await a.setRetention("s", { maxEntriesPerSegment: 40 });
      const produced: Promise<SegmentStatus>[] = [];
      const sweeps: { segments: number; entries: number }[] = [];
      for (let round = 0; round < 15; round++) {
        // Each segment has one producer (sequences of one segment from two instances would race).
        for (let i = 0; i < 10; i++) {
          const n = round * 10 + i + 1;
          produced.push(a.produce("s", "g", records(n, n)), b.produce("s", "h", records(n, n)));
        }
        produced.push(b.publish("s", "p", bytes(`p${round}`)));
        const both = await Promise.all([a.enforceRetention(), b.enforceRetention()]);
        sweeps.push(...both);
      }
      const statuses = await Promise.all(produced);
      for (const name of ["g", "h"]) {
        expect(statuses.filter((status) => status.segment === name).map((status) => status.lastSequence)).toEqual(
          Array.from({ length: 150 }, (_, i) => i + 1),
        );
      }
      // Each round's two sweeps ran one at a time or one skipped: never both removing the same entries.
      expect(sweeps.reduce((sum, sweep) => sum + sweep.entries, 0)).toBeLessThanOrEqual(3 * 150 - 3 * 40);
      await a.enforceRetention();
      await Promise.all([a.reclaimed(), b.reclaimed()]);
      expect(sequences(await collect(b.readSegment({ space: "s", segment: "g" })))).toEqual(Array.from({ length: 40 }, (_, i) => 111 + i));
      expect(await rows("s", "g")).toBe(40);
      expect(await rows("s", "h")).toBe(40);
      const space = await collect(a.readSpace({ space: "s" }));
      expectCommitOrder(space.filter((entry) => entry.segment === "p"));
      expect(space.filter((entry) => entry.segment === "g").map((entry) => entry.sequence)).toEqual(Array.from({ length: 40 }, (_, i) => 111 + i));
    });

    it("skips a sweep while another instance holds the store's sweep", async () => {
      const [a, b] = [await instance(), await instance()];
      await a.produce("s", "g", records(1, 10));
      await a.setRetention("s", { maxEntriesPerSegment: 2 });
      await client.query(`INSERT INTO "${schema}".sweeps (store_id, holder, expires_at) VALUES ($1, $2, $3)`, [storeId, randomUUID(), Date.now() + 600_000]);
      expect(await b.enforceRetention()).toEqual({ segments: 0, entries: 0 });
      expect((await b.segmentStatus("s", "g"))?.firstSequence).toBe(1);
      // A hold that lapsed (its instance died mid-sweep) is taken over.
      await client.query(`UPDATE "${schema}".sweeps SET expires_at = 0 WHERE store_id = $1`, [storeId]);
      expect(await b.enforceRetention()).toEqual({ segments: 1, entries: 8 });
    });

    it("finds rows left behind by an instance that stopped before deleting them", async () => {
      const a = await instance();
      await a.produce("s", "g", records(1, 3_000));
      await a.deleteSegment("s", "g");
      await a.close();
      // Closing stopped the reclaimer after its first batch.
      expect(await rows("s", "g")).toBeGreaterThan(0);
      const b = await instance();
      await b.enforceRetention();
      await bounded(b.reclaimed(), "the left rows to be deleted");
      expect(await rows("s", "g")).toBe(0);
      expect(await b.usage()).toEqual({ entries: 0, bytes: 0 });
    });

    it("leaves a living store's purged rows to that store's sweep, and a deleted store's to any store's", async () => {
      const a = await instance();
      await a.produce("s", "g", records(1, 3_000));
      const purged = await segmentIds();
      await a.deleteSegment("s", "g", { purge: true });
      await a.close();
      // Closing stopped the reclaimer after its first batch.
      const left = await rowsOf(purged);
      expect(left).toBeGreaterThan(0);

      const other = await instance("counter", randomUUID());
      await other.produce("t", "h", records(1, 1));
      await other.enforceRetention();
      await bounded(other.reclaimed(), "another store's reclaiming");
      expect(await rowsOf(purged)).toBe(left);

      const again = await instance();
      await again.enforceRetention();
      await bounded(again.reclaimed(), "the purged rows to be deleted");
      expect(await rowsOf(purged)).toBe(0);

      // A deleted store is never swept again: any store finishes its rows.
      const goneId = randomUUID();
      const gone = await instance("counter", goneId);
      await gone.produce("s", "g", records(1, 3_000));
      const goneIds = (
        await client.query<{ id: string }>(`SELECT sg.id FROM "${schema}".segments sg JOIN "${schema}".spaces sp ON sp.id = sg.space_id WHERE sp.store_id = $1`, [goneId])
      ).rows.map((row) => Number(row.id));
      await gone.deleteStore();
      // Its own reclaimer goes with its pool, as with its process.
      await factories.pop()?.close();
      expect(await rowsOf(goneIds)).toBeGreaterThan(0);
      await other.enforceRetention();
      await bounded(other.reclaimed(), "the deleted store's rows to be deleted");
      expect(await rowsOf(goneIds)).toBe(0);
    });

    it("deletes a store's rows after forgetting it, while the store opened again starts empty", async () => {
      const a = await instance();
      await a.produce("s", "g", records(1, 2_500));
      await a.produce("t", "h", records(1, 10));
      const ids = await segmentIds();
      await a.deleteStore();
      const again = await instance();
      expect(await again.listSpaces()).toEqual([]);
      expect((await again.produce("s", "g", records(1, 1))).lastSequence).toBe(1);
      await bounded(a.reclaimed(), "the deleted store's rows to be deleted");
      expect(await rowsOf(ids)).toBe(0);
      expect(await again.usage()).toEqual({ entries: 1, bytes: records(1, 1)[0]?.payload.byteLength });
    });

    it("upgrades a version 1 schema with data: heads, positions and bytes filled in", async () => {
      const upgraded = randomSchema();
      const pool = new pg.Pool({ connectionString, max: 2 });
      try {
        await migrate(pool, upgraded, 1);
        const commits = new GroupCommit({ pool, schema: quoted(upgraded), storeId, nodeId: "v1", ordering: "counter" });
        await commits.commit("s", "g", records(1, 5));
        await commits.commit("s", "h", records(1, 2));
        await commits.commit("s", "g", records(6, 8));
        const factory = createPostgresStoreFactoryWith({ connectionString, schema: upgraded, pool: { max: 2 } });
        factories.push(factory);
        const store = await factory.open(storeId);
        stores.push(store);
        const bytesOf = (from: number, to: number): number => records(from, to).reduce((sum, record) => sum + record.payload.byteLength, 0);
        expect(await store.usage()).toEqual({ entries: 10, bytes: bytesOf(1, 8) + bytesOf(1, 2) });
        const space = await collect(store.readSpace({ space: "s" }));
        await store.truncateSegment("s", "g", 7);
        await store.truncateSegment("s", "h", 3);
        // The first kept entry is g7, after h's: a resume after g5 is inside the removed range.
        const g5 = space.find((entry) => entry.segment === "g" && entry.sequence === 5)?.position;
        expect((await failure(() => store.readSpace({ space: "s", afterPosition: g5 }))).kind).toBe("out_of_range");
        expect(sequences(await collect(store.readSpace({ space: "s" })))).toEqual([7, 8]);
      } finally {
        await pool.end();
        await dropSchema(connectionString, upgraded);
      }
    });

    it("refuses lifecycle calls in xid ordering, whose positions have gaps", async () => {
      const store = await instance("xid");
      await store.produce("s", "g", records(1, 2));
      expect(store.features.lifecycle).toBe(false);
      expect((await failure(() => store.truncateSegment("s", "g", 2))).kind).toBe("failed_precondition");
      expect((await failure(() => store.deleteSegment("s", "g"))).kind).toBe("failed_precondition");
    });
  });
}
