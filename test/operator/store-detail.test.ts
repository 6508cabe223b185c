import { describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import type { Logger } from "../../pkg/server/index.js";
import type { StoreFactory } from "../../store/types.js";
import type { StoreDetail } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { records } from "../support/data.js";
import { call, eventually, mintToken, useServers, WAIT_MS } from "./support.js";

const servers = useServers();

describe("operator endpoint: one store's drill-down", () => {
  it("/api/stores/:storeId lists spaces, segments, live followers and workers of an open store", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const stop = new AbortController();
    const url = `${server.url}/api/stores/${storeId}`;
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 3));
      await client.produce(storeId, "orders", "o-2", records(1, 2));
      await client.closeSegment(storeId, "orders", "o-2");
      await client.produce(storeId, "payments", "p-1", records(1, 1));
      const worker = await client.subscribeWorkers(storeId, { workerId: "w-1", metadata: { role: "indexer" } }, () => undefined);
      const follow = client.consumeSpace(storeId, { space: "orders", follow: true }, { signal: AbortSignal.any([stop.signal, AbortSignal.timeout(WAIT_MS)]) });
      const reading = (async () => {
        for await (const _entry of follow) void _entry;
      })().catch(() => undefined);

      const detail = await eventually(
        async () => (await call<StoreDetail>(url)).body,
        (body) => body.spaces?.[0]?.liveTail?.followers === 1,
        "the follower on orders",
      );
      const answer = await call<StoreDetail>(url);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(detail).toMatchObject({ storeId, openStreams: expect.any(Number), lastAccess: expect.any(Number), spacesTruncated: false });
      expect(detail.liveTails).toMatchObject({ tails: 1, followers: 1 });
      expect(detail.workers).toEqual([{ workerId: "w-1", since: expect.any(Number), lastSeen: expect.any(Number), metadata: { role: "indexer" } }]);
      expect(detail).toMatchObject({ workerCount: 1, workersTruncated: false });
      expect(detail.spaces.map((space) => space.space)).toEqual(["orders", "payments"]);
      const [orders, payments] = detail.spaces;
      expect(orders).toMatchObject({ segmentCount: 2, entryCount: 5, segmentsTruncated: false, liveTail: { space: "orders", followers: 1 } });
      expect(orders?.segments).toEqual([
        { segment: "o-1", firstSequence: 1, firstTimestamp: expect.any(Number), lastSequence: 3, lastTimestamp: expect.any(Number), closed: false, deleted: false },
        { segment: "o-2", firstSequence: 1, firstTimestamp: expect.any(Number), lastSequence: 2, lastTimestamp: expect.any(Number), closed: true, deleted: false },
      ]);
      expect(payments).toMatchObject({ segmentCount: 1, entryCount: 1, liveTail: null });
      expect(payments?.segments).toEqual([
        { segment: "p-1", firstSequence: 1, firstTimestamp: expect.any(Number), lastSequence: 1, lastTimestamp: expect.any(Number), closed: false, deleted: false },
      ]);
      stop.abort();
      await reading;
      await worker.unsubscribe();
    } finally {
      stop.abort();
      await client.close();
    }
  });

  it("lists the store's live leases by key, at most 100, and leaves out released and expired ones", async () => {
    const server = await servers.start({}, { store: "level" });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const url = `${server.url}/api/stores/${storeId}`;
    try {
      const leader = await client.acquireLease(storeId, "leader", { holder: "node-a", ttlMs: 60_000 });
      await client.acquireLease(storeId, "job", { holder: "node-b", ttlMs: 60_000 });
      await client.releaseLease(storeId, "job", { holder: "node-b" });
      await client.acquireLease(storeId, "job", { holder: "node-c", ttlMs: 60_000 });
      await client.acquireLease(storeId, "released", { holder: "node-a", ttlMs: 60_000 });
      await client.releaseLease(storeId, "released", { holder: "node-a" });
      await client.acquireLease(storeId, "brief", { holder: "node-d", ttlMs: 1 });

      const detail = await eventually(
        async () => (await call<StoreDetail>(url)).body,
        (body) => body.leases?.length === 2,
        "the 1 ms lease to lapse",
      );
      expect(detail.leasesTruncated).toBe(false);
      expect(detail.leases).toEqual([
        { key: "job", holder: "node-c", expiresAt: expect.any(Number), token: 2 },
        { key: "leader", holder: "node-a", expiresAt: leader.expiresAt, token: 1 },
      ]);

      // Bounded: the first 100 by key, and a flag saying there are more.
      const keys = Array.from({ length: 100 }, (_, i) => `k-${String(i).padStart(3, "0")}`);
      await Promise.all(keys.map((key) => client.acquireLease(storeId, key, { holder: "bulk", ttlMs: 60_000 })));
      const full = (await call<StoreDetail>(url)).body;
      expect(full.leasesTruncated).toBe(true);
      expect(full.leases?.map((lease) => lease.key)).toEqual(["job", ...keys.slice(0, 99)]);
    } finally {
      await client.close();
    }
  });

  it("answers the rest of the drill-down with leases null when the store's lease query fails, and logs why", async () => {
    const warnings: { object: object; message?: string }[] = [];
    const ignore = (): void => undefined;
    const logger: Logger = { debug: ignore, info: ignore, error: ignore, warn: (object, message) => warnings.push({ object, message }) };
    // Every store's listLeases fails; the rest is the real store (its methods bound to it: private fields).
    const failingLeases = (inner: StoreFactory): StoreFactory => ({
      ...inner,
      open: async (storeId) => {
        const store = await inner.open(storeId);
        return new Proxy(store, {
          get(target, property) {
            if (property === "listLeases") return () => Promise.reject(new Error("lease table unreachable"));
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    });
    const server = await servers.start({ logger, wrapStoreFactory: failingLeases });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 2));
      const answer = await call<StoreDetail>(`${server.url}/api/stores/${storeId}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ storeId, leases: null, leasesTruncated: false, spacesTruncated: false });
      expect(answer.body.spaces.map((space) => [space.space, space.entryCount])).toEqual([["orders", 2]]);
      expect(warnings).toContainEqual({
        object: expect.objectContaining({ storeId, err: expect.objectContaining({ message: "lease table unreachable" }) }),
        message: expect.stringContaining("leases"),
      });
    } finally {
      await client.close();
    }
  });

  it("lists at most 100 workers, the first by id, with their count", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const url = `${server.url}/api/stores/${storeId}`;
    try {
      await client.produce(storeId, "s", "g", records(1, 1));
      expect((await call<StoreDetail>(url)).body).toMatchObject({ workers: null, workerCount: 0, workersTruncated: false });
      const ids = Array.from({ length: 101 }, (_, i) => `w-${String(100 - i).padStart(3, "0")}`);
      const workers = await Promise.all(ids.map((workerId) => client.subscribeWorkers(storeId, { workerId, metadata: { n: workerId } }, () => undefined)));
      const detail = (await call<StoreDetail>(url)).body;
      expect(detail).toMatchObject({ workerCount: 101, workersTruncated: true });
      expect(detail.workers?.map((worker) => worker.workerId)).toEqual([...ids].sort().slice(0, 100));
      expect(detail.workers?.[0]?.metadata).toEqual({ n: "w-000" });
      // A leave shows at the next look: the listing is kept sorted between joins and leaves, not stale.
      await workers[100]?.unsubscribe();
      const after = await eventually(async () => (await call<StoreDetail>(url)).body, (body) => body.workerCount === 100, "w-000 to leave");
      expect(after.workersTruncated).toBe(false);
      expect(after.workers?.map((worker) => worker.workerId)).toEqual([...ids].sort().slice(1));
      await Promise.all(workers.slice(0, 100).map((worker) => worker.unsubscribe()));
    } finally {
      await client.close();
    }
  });

  it("answers 404 for a store not open here, 400 for a bad id, and names no file path", async () => {
    const server = await servers.start({}, { store: "level" });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 1));
      expect((await call<StoreDetail>(`${server.url}/api/stores/${storeId}`)).status).toBe(200);

      const unknown = crypto.randomUUID();
      const missing = await call<{ kind: string; message: string }>(`${server.url}/api/stores/${unknown}`);
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ kind: "not_found", message: expect.stringContaining(unknown) });
      // Looking does not open the store: it stays off the status.
      expect((await call<{ stores: { storeId: string }[] }>(`${server.url}/api/status`)).body.stores.map((store) => store.storeId)).toEqual([storeId]);

      // An evicted store is closed here, though its data is on disk: 404 until something opens it again.
      expect((await call(`${server.url}/api/admin/stores/${storeId}/evict`, { method: "POST" })).status).toBe(200);
      const evicted = await call<{ kind: string; message: string }>(`${server.url}/api/stores/${storeId}`);
      expect(evicted.status).toBe(404);
      expect(evicted.body.message).not.toContain(servers.dir());

      const bad = await call<{ kind: string }>(`${server.url}/api/stores/not-a-uuid`);
      expect(bad.status).toBe(400);
      expect(bad.body.kind).toBe("invalid_argument");
      expect((await call(`${server.url}/api/stores/${storeId}/nothing`)).status).toBe(404);
      expect((await call(`${server.url}/api/stores/${storeId}`, { method: "POST" })).status).toBe(405);
    } finally {
      await client.close();
    }
  });
});
