import { ClassicLevel } from "classic-level";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { collect, records } from "../conformance/support.js";
import { BUFFERS, type StoreSublevel as Sub } from "./database.js";
import { createLevelStoreFactory, SHARED_DATABASE } from "./index.js";
import { SharedWriter } from "./shared-writer.js";

describe("level shared layout", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "streamkit-level-shared-"));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps every store in one database, each under its own keys, and deletes one as a range", async () => {
    const factory = createLevelStoreFactory({ dataDir, nodeId: "n" });
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const stores = await Promise.all(ids.map((id) => factory.open(id)));
    await Promise.all(stores.map((store, i) => store.produce("s", "g", records(1, i + 1, `store-${i}`))));
    expect((await readdir(dataDir)).sort()).toEqual([SHARED_DATABASE]);
    for (const [i, store] of stores.entries()) {
      expect((await collect(store.readSegment({ space: "s", segment: "g" }))).map((entry) => entry.sequence)).toEqual(
        Array.from({ length: i + 1 }, (_, n) => n + 1),
      );
    }
    await stores[1]?.deleteStore();
    await Promise.all([stores[0]?.close(), stores[2]?.close()]);

    const reopened = await Promise.all(ids.map((id) => factory.open(id)));
    expect(await Promise.all(reopened.map((store) => store.status().then((status) => status.spaces.map((space) => space.entryCount))))).toEqual([
      [1],
      [],
      [3],
    ]);
    await Promise.all(reopened.map((store) => store.close()));
  });

  it("shares one synced write among the commits of many stores in one turn", async () => {
    const root = new ClassicLevel<Buffer, Buffer>(join(dataDir, "root"), BUFFERS);
    await root.open();
    try {
      const writer = new SharedWriter(root);
      const writes = vi.spyOn(root, "batch");
      const [a, b, c] = ["a", "b", "c"].map((name) => root.sublevel<Buffer, Buffer>(name, BUFFERS)) as [Sub, Sub, Sub];
      const sublevels = [a, b, c];
      const key = Buffer.from("k");
      await Promise.all(sublevels.map((sublevel, i) => writer.forStore(sublevel).write((batch) => batch.put(key, Buffer.from([i])))));
      expect(writes).toHaveBeenCalledTimes(1);
      expect(await Promise.all(sublevels.map((sublevel) => sublevel.get(key)))).toEqual([0, 1, 2].map((i) => Buffer.from([i])));

      // A store whose writes fail to build fails alone; the others' share the next write.
      const failed = writer.forStore(a).write(() => {
        throw new Error("cannot encode");
      });
      const kept = writer.forStore(b).write((batch) => batch.del(key));
      await expect(failed).rejects.toThrow("cannot encode");
      await kept;
      expect(await b.get(key)).toBeUndefined();
      expect(await a.get(key)).toEqual(Buffer.from([0]));
    } finally {
      await root.close();
    }
  });

  it("splits the commits of one turn into writes of about 1 MiB each, in the order they were handed over", async () => {
    const root = new ClassicLevel<Buffer, Buffer>(join(dataDir, "root"), BUFFERS);
    await root.open();
    try {
      const writer = new SharedWriter(root);
      const writes = vi.spyOn(root, "batch");
      const sublevels = ["a", "b"].map((name) => root.sublevel<Buffer, Buffer>(name, BUFFERS));
      const key = Buffer.from("k");
      // Eight commits of 300 KB: the first write takes four (1.2 MB, past the cap), the next the other four.
      const values = Array.from({ length: 8 }, (_, i) => Buffer.alloc(300 * 1024, i));
      await Promise.all(values.map((value, i) => writer.forStore(sublevels[i % 2] as Sub).write((batch) => batch.put(key, value))));
      expect(writes).toHaveBeenCalledTimes(2);
      // Each store's later commit, in the later write, is the one that stays.
      expect(await Promise.all(sublevels.map((sublevel) => sublevel.get(key)))).toEqual([values[6], values[7]]);
    } finally {
      await root.close();
    }
  });

  it("reopens a store with its heads and retentions read in one scan past its leases, in both layouts", async () => {
    for (const layout of ["shared", "per-store"] as const) {
      const factory = createLevelStoreFactory({ dataDir: join(dataDir, layout), nodeId: "n", layout });
      const id = randomUUID();
      const store = await factory.open(id);
      await store.produce("a", "g", records(1, 3));
      await store.produce("z", "g", records(1, 2));
      // More leases than one step of the scan, between the heads and the retentions.
      for (let i = 0; i < 300; i++) await store.acquireLease(`lease-${i}`, "holder", 60_000);
      await store.setRetention("a", { maxEntriesPerSegment: 2 });
      await store.setRetention("z", { maxAgeMs: 60_000 });
      await store.close();

      const reopened = await factory.open(id);
      try {
        expect((await reopened.status()).spaces.map((space) => [space.space, space.entryCount])).toEqual([
          ["a", 3],
          ["z", 2],
        ]);
        expect(await reopened.getRetention("a")).toEqual({ maxEntriesPerSegment: 2 });
        expect(await reopened.getRetention("z")).toEqual({ maxAgeMs: 60_000 });
        expect((await reopened.produce("a", "g", records(4, 4))).lastSequence).toBe(4);
        expect(await reopened.acquireLease("lease-299", "other", 60_000)).toMatchObject({ ok: false, holder: "holder" });
      } finally {
        await reopened.close();
      }
    }
  });

  it("moves a store kept in a database of its own into the shared one when it is first opened", async () => {
    const id = randomUUID();
    const before = createLevelStoreFactory({ dataDir, nodeId: "n", layout: "per-store" });
    const old = await before.open(id);
    await old.produce("orders", "o-1", records(1, 3));
    await old.publish("orders", "o-2", new Uint8Array([9]), { k: "v" });
    await old.acquireLease("leader", "a", 60_000);
    await old.close();
    expect(await readdir(dataDir)).toEqual([id]);

    const factory = createLevelStoreFactory({ dataDir, nodeId: "n" });
    const store = await factory.open(id);
    try {
      expect(await readdir(dataDir)).toEqual([SHARED_DATABASE]);
      expect((await collect(store.readSpace({ space: "orders" }))).map((entry) => [entry.segment, entry.sequence])).toEqual([
        ["o-1", 1],
        ["o-1", 2],
        ["o-1", 3],
        ["o-2", 1],
      ]);
      expect((await store.peek("orders", "o-2"))?.metadata).toEqual({ k: "v" });
      expect(await store.acquireLease("leader", "b", 60_000)).toMatchObject({ ok: false, holder: "a" });
      expect((await store.produce("orders", "o-1", records(4, 4))).lastSequence).toBe(4);
    } finally {
      await store.close();
    }
  });

  it("still opens a store in the per-store layout when asked, one database per store", async () => {
    const factory = createLevelStoreFactory({ dataDir, layout: "per-store" });
    expect(factory.descriptorsPerStore).toBeGreaterThan(0);
    expect(createLevelStoreFactory({ dataDir }).descriptorsPerStore).toBe(0);
    const id = randomUUID();
    const store = await factory.open(id);
    await store.produce("s", "g", records(1, 1));
    await store.close();
    expect(await readdir(dataDir)).toEqual([id]);
    expect(() => createLevelStoreFactory({ dataDir, layout: "flat" as never })).toThrow(TypeError);
  });
});
