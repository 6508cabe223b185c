// The server of the tenants case, in its own process: NodeManager over LevelDB (layout from argv),
// HTTP and /streamz with JWT auth, idle eviction after `idleTtlMs`. Samples its descriptors and RSS
// every 50 ms and keeps the peaks. Talks to its parent over IPC: "ready" with the port, then answers
// "sample" (now, after gc, and the peaks since the last "reset") and "stop".
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createJwtAuthenticator, createNodeManager, openDescriptors } from "../../pkg/server/index.js";
import { createLevelStoreFactory, type LevelLayout } from "../../store/level/index.js";
import { attachStreamz } from "../../transport/ws/index.js";
import { withTempDir } from "../harness.js";
import { BENCH_SECRET } from "../system.js";

export type TenantsRequest = { type: "sample" } | { type: "reset" } | { type: "stop" };
export interface TenantsSample {
  type: "sample";
  rss: number;
  heapUsed: number;
  heapTotal: number;
  descriptors: number;
  openStores: number;
  maxOpenStores: number;
  peakRss: number;
  peakDescriptors: number;
}
export type TenantsReply = { type: "ready"; port: number } | TenantsSample;

const layout = (process.argv[2] ?? "shared") as LevelLayout;
const idleTtlMs = Number(process.argv[3] ?? 2_000);
const send = (reply: TenantsReply) => process.send?.(reply);

function collectGarbage(): void {
  if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
  globalThis.gc();
  globalThis.gc();
}

await withTempDir(async (dataDir) => {
  const manager = createNodeManager({
    storeFactory: createLevelStoreFactory({ dataDir, layout }),
    idleEviction: { idleTtlMs, checkIntervalMs: Math.max(100, Math.floor(idleTtlMs / 4)) },
  });
  const http = createServer((_request, response) => response.writeHead(404).end());
  const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [BENCH_SECRET] }) });
  await new Promise<void>((resolve) => http.listen({ port: 0, host: "127.0.0.1" }, resolve));
  let peakRss = 0;
  let peakDescriptors = 0;
  const sampleNow = () => {
    const rss = process.memoryUsage.rss();
    const descriptors = openDescriptors() ?? 0;
    peakRss = Math.max(peakRss, rss);
    peakDescriptors = Math.max(peakDescriptors, descriptors);
    return { rss, descriptors };
  };
  const sampler = setInterval(sampleNow, 50);
  const stopped = new Promise<void>((resolve) => {
    process.on("message", (request: TenantsRequest) => {
      if (request.type === "stop") return resolve();
      if (request.type === "reset") {
        peakRss = 0;
        peakDescriptors = 0;
      }
      collectGarbage();
      const { openStores, maxOpenStores } = manager.openStores();
      send({ type: "sample", ...sampleNow(), heapUsed: process.memoryUsage().heapUsed, heapTotal: process.memoryUsage().heapTotal, openStores, maxOpenStores, peakRss, peakDescriptors });
    });
    process.on("disconnect", resolve);
  });
  send({ type: "ready", port: (http.address() as AddressInfo).port });
  await stopped;
  clearInterval(sampler);
  await streamz.close({ code: 1001, reason: "bench over" });
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await manager.close();
});
process.disconnect?.();
