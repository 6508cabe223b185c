import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type LeaseResult, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type NodeManager } from "../../pkg/server/index.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { failureOf } from "../support/data.js";

/** Node managers and clients a test starts; closed after it, clients first. */
const started: { managers: NodeManager[]; clients: StreamsClient[]; dirs: string[] } = { managers: [], clients: [], dirs: [] };

function serve(storeFactory: StoreFactory): { manager: NodeManager; client: StreamsClient } {
  const manager = createNodeManager({ storeFactory, idleEviction: false });
  const client = createClient(createInProcProvider(manager));
  started.managers.push(manager);
  started.clients.push(client);
  return { manager, client };
}

afterEach(async () => {
  for (const client of started.clients.splice(0)) await client.close();
  for (const manager of started.managers.splice(0)) await manager.close();
  for (const dir of started.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("leases kept with the level store's data", () => {
  it("survive a restart: the holder keeps the key and tokens carry on from the last one issued", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "streamkit-lease-"));
    started.dirs.push(dataDir);
    const storeId = crypto.randomUUID();
    const before = serve(createLevelStoreFactory({ dataDir }));
    const kept = await before.client.acquireLease(storeId, "leader", { holder: "a", ttlMs: 3_600_000 });
    await before.client.acquireLease(storeId, "counter", { holder: "a", ttlMs: 60_000 });
    await before.client.releaseLease(storeId, "counter", { holder: "a" });
    await before.client.acquireLease(storeId, "counter", { holder: "b", ttlMs: 60_000 });
    await before.client.releaseLease(storeId, "counter", { holder: "b" });
    await before.client.close();
    await before.manager.close();

    const after = serve(createLevelStoreFactory({ dataDir }));
    expect(await after.client.acquireLease(storeId, "leader", { holder: "b", ttlMs: 1_000 })).toEqual({ ...kept, ok: false });
    expect(await after.client.renewLease(storeId, "leader", { holder: "a", ttlMs: 3_600_000 })).toMatchObject({ ok: true, holder: "a", token: 1 });
    expect(await after.client.acquireLease(storeId, "counter", { holder: "c", ttlMs: 60_000 })).toMatchObject({ ok: true, token: 3 });
    expect(await after.client.releaseLease(storeId, "leader", { holder: "a" })).toMatchObject({ ok: true });
    expect(await after.client.acquireLease(storeId, "leader", { holder: "b", ttlMs: 1_000 })).toMatchObject({ ok: true, token: 2 });
  });
});

describe("leases across two server instances sharing one store", () => {
  it("give one holder per key, whichever instance is asked", async () => {
    const storeFactory = createMemoryStoreFactory();
    const one = serve(storeFactory);
    const two = serve(storeFactory);
    const storeId = crypto.randomUUID();
    const attempts: Promise<LeaseResult>[] = [];
    for (let i = 0; i < 20; i++) {
      const client = i % 2 === 0 ? one.client : two.client;
      attempts.push(client.acquireLease(storeId, "leader", { holder: `h-${i}`, ttlMs: 60_000 }));
    }
    const results = await Promise.all(attempts);
    const winners = results.filter((result) => result.ok);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as LeaseResult;
    for (const result of results) expect(result).toEqual({ ...winner, ok: result === winner });
    // The other instance sees the same holder, and its release is what frees the key.
    expect(await two.client.releaseLease(storeId, "leader", { holder: "someone-else" })).toEqual({ ...winner, ok: false });
    expect(await one.client.releaseLease(storeId, "leader", { holder: winner.holder })).toMatchObject({ ok: true });
    expect(await two.client.acquireLease(storeId, "leader", { holder: "next", ttlMs: 60_000 })).toMatchObject({ ok: true, token: 2 });
  });

  it("let withLease on one instance keep the key from withLease on the other", async () => {
    const storeFactory = createMemoryStoreFactory();
    const one = serve(storeFactory);
    const two = serve(storeFactory);
    const storeId = crypto.randomUUID();
    const tokens = await one.client.withLease(storeId, "job", { ttlMs: 60_000 }, async (_signal, lease) => {
      const error = await failureOf(() => two.client.withLease(storeId, "job", { ttlMs: 60_000, waitMs: 0 }, () => "ran"));
      expect(error).toMatchObject({ kind: "deadline_exceeded", details: { holder: lease.holder } });
      return [lease.token];
    });
    tokens.push(await two.client.withLease(storeId, "job", { ttlMs: 60_000, waitMs: 0 }, (_signal, lease) => lease.token));
    expect(tokens).toEqual([1, 2]);
  });
});
