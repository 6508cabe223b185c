// Idle and capacity eviction must give a store's memory back (docs/tenants.md, "Memory after eviction").
// The test counts the per-store structures left on the heap (v8.queryObjects runs a full GC first), not
// bytes, so it does not depend on the allocator or the machine's load.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queryObjects } from "node:v8";
import { afterEach, beforeEach, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import {
  createJwtAuthenticator,
  createNodeManager,
  ServerActivity,
  signToken,
  StoreNode,
  type StoreNodeManager,
} from "../../pkg/server/index.js";
import { createLevelStoreFactory, LevelStore } from "../../store/level/index.js";
import { attachStreamz, createWsProvider, type StreamzServer } from "../../transport/ws/index.js";

const SECRET = "evicted-memory-secret-of-at-least-32-bytes";
const MAX_OPEN = 4;
const STORES = 24;
/** Fewer than MAX_OPEN, so refusals (every open store busy or opening) stay rare; they are retried. */
const IN_FLIGHT = 2;
/** Attempts of one call refused with resource_exhausted (every open store busy) before the test fails. */
const MAX_ATTEMPTS = 200;

let dataDir: string;
let http: Server;
let streamz: StreamzServer;
let manager: StoreNodeManager;
let activity: ServerActivity;
let client: StreamsClient;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-evicted-"));
  activity = new ServerActivity();
  // The default retention sweeps stay on: their timers are among what eviction must stop.
  manager = createNodeManager({
    storeFactory: createLevelStoreFactory({ dataDir }),
    maxOpenStores: MAX_OPEN,
    busyRetryAfterMs: 50,
    idleEviction: false,
    observer: activity,
  });
  http = createServer((_request, response) => response.writeHead(404).end());
  streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [SECRET] }) });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  const token = () => signToken({ secret: SECRET, scopes: ["streamkit::*"], subject: "tenants", ttlSec: 3600 });
  client = createClient(createWsProvider(`ws://127.0.0.1:${port}`, { token }));
});

afterEach(async () => {
  await client.close();
  await streamz.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await manager.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Per-store structures alive on the server's heap after a full GC. */
function retained(): Record<string, number> {
  return {
    nodes: queryObjects(StoreNode, { format: "count" }),
    levelStores: queryObjects(LevelStore, { format: "count" }),
    storesWithTraffic: activity.storeTraffic().size,
  };
}

/** `call`, again after `retryAfterMs` while every open store is busy (the documented answer), at most MAX_ATTEMPTS times. */
async function withRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof StreamsError) || error.kind !== "resource_exhausted" || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs));
    }
  }
}

/** `count` new stores, each published to, read (with LRU eviction making room) and then closed. */
async function burst(count: number): Promise<void> {
  const ids = Array.from({ length: count }, () => randomUUID());
  const pool = async (task: (id: string, i: number) => Promise<void>): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) await task(ids[i] as string, i);
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  };
  await pool(async (id, i) => {
    expect((await withRetries(() => client.publish(id, "s", "g", new TextEncoder().encode(`store ${i}`)))).lastSequence).toBe(1);
  });
  await pool(async (id, i) => {
    expect(new TextDecoder().decode((await withRetries(() => client.peek(id, "s", "g"))).payload)).toBe(`store ${i}`);
  });
  // The few still open are closed as idle eviction would close them.
  for (const id of ids) await manager.remove(id);
  expect(manager.openStores().openStores).toBe(0);
}

it("keeps nothing of a store once its node is evicted: per-store structures return to their count before the burst", { timeout: 120_000 }, async () => {
  // Warm-up through every path, so the baseline holds whatever is created once per server.
  await burst(MAX_OPEN * 2);
  const before = retained();
  await burst(STORES);
  expect(retained()).toEqual(before);
});
