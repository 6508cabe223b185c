// What the bench cases measure: the client SDK → (in-process provider | WebSocket) → NodeManager → LevelDB.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Record } from "../pkg/api/index.js";
import { createClient, type StreamsClient } from "../pkg/client/index.js";
import { createJwtAuthenticator, createNodeManager, type NodeManager, signToken } from "../pkg/server/index.js";
import { createInProcProvider } from "../transport/inproc/index.js";
import { attachStreamz, createWsProvider } from "../transport/ws/index.js";
import { payloadOf } from "./harness.js";
import { type BenchStore, levelStore } from "./postgres.js";

export type Transport = "inproc" | "ws";

export const BENCH_SECRET = "bench-secret-of-at-least-thirty-two-bytes";
export const RECORD_BYTES = 200;

/** One running system over a LevelDB data directory, and the single client that drives it. */
export interface BenchSystem {
  client: StreamsClient;
  close(): Promise<void>;
}

export function transportArg(value: string | undefined): Transport {
  if (value === "inproc" || value === "ws") return value;
  throw new TypeError(`transport must be inproc or ws, got ${String(value)}`);
}

/** Numeric case arguments after the transport, with defaults: `node case.ts ws 100000 100`. */
export function numberArgs<T extends number[]>(defaults: [...T]): T {
  const given = process.argv.slice(3).map(Number);
  return defaults.map((fallback, i) => {
    const value = given[i];
    return value === undefined || Number.isNaN(value) ? fallback : value;
  }) as T;
}

/**
 * Starts a NodeManager over `store` (default: LevelDB in `dataDir`) and one client: in-process, or over WebSocket to
 * `/streamz` on 127.0.0.1 with JWT auth (server and client in this process).
 */
export async function startSystem(transport: Transport, dataDir: string, store: BenchStore = levelStore(dataDir)): Promise<BenchSystem> {
  const manager = createNodeManager({ storeFactory: store.factory, idleEviction: false });
  if (transport === "inproc") {
    const client = createClient(createInProcProvider(manager));
    return {
      client,
      async close() {
        await client.close();
        await manager.close();
        await store.close();
      },
    };
  }
  const system = await serveOverWs(manager);
  return {
    client: system.client,
    async close() {
      await system.close();
      await store.close();
    },
  };
}

/** Serves `manager` on 127.0.0.1 (HTTP + /streamz with JWT auth) and connects one WebSocket client; close() closes the manager too. */
export async function serveOverWs(manager: NodeManager): Promise<BenchSystem> {
  const http = createServer((_request, response) => response.writeHead(404).end());
  const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [BENCH_SECRET] }) });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "bench", ttlSec: 3600 });
  const client = createClient(createWsProvider(`ws://127.0.0.1:${port}`, { token }));
  return {
    client,
    async close() {
      await client.close();
      await streamz.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await manager.close();
    },
  };
}

/** `count` records of RECORD_BYTES with sequences from `firstSequence`, distinct payloads. */
export function recordsOf(count: number, firstSequence = 1): Record[] {
  const records: Record[] = new Array<Record>(count);
  for (let i = 0; i < count; i++) records[i] = { sequence: firstSequence + i, payload: payloadOf(RECORD_BYTES, firstSequence + i) };
  return records;
}

/** Counts a read's entries, checking it got `expected`. */
export async function drain(entries: AsyncIterable<unknown>, expected: number): Promise<void> {
  let seen = 0;
  for await (const _entry of entries) seen++;
  if (seen !== expected) throw new Error(`read ${seen} entries, expected ${expected}`);
}
