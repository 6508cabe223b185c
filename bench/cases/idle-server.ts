// The server of the idle-connections case, in its own process: NodeManager over LevelDB, HTTP, and
// /streamz with JWT auth. Talks to its parent over IPC: "ready" with the port, then answers
// "measure" (memory after gc) and "stop".
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createJwtAuthenticator, createNodeManager } from "../../pkg/server/index.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { attachStreamz } from "../../transport/ws/index.js";
import { withTempDir } from "../harness.js";
import { BENCH_SECRET } from "../system.js";

export type ServerRequest = { type: "measure" } | { type: "stop" };
export type ServerReply =
  | { type: "ready"; port: number }
  | { type: "memory"; rss: number; heapUsed: number; external: number; connections: number };

const maxConnections = Number(process.argv[2] ?? 10_000) + 1_000;
const send = (reply: ServerReply) => process.send?.(reply);

function collectGarbage(): void {
  if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
  // Twice: the first pass can leave objects whose finalizers free more.
  globalThis.gc();
  globalThis.gc();
}

await withTempDir(async (dataDir) => {
  const manager = createNodeManager({ storeFactory: createLevelStoreFactory({ dataDir }), idleEviction: false });
  const http = createServer((_request, response) => response.writeHead(404).end());
  const streamz = attachStreamz(http, {
    manager,
    authenticator: createJwtAuthenticator({ secrets: [BENCH_SECRET] }),
    maxConnections,
  });
  await new Promise<void>((resolve) => http.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve));
  const stopped = new Promise<void>((resolve) => {
    process.on("message", (request: ServerRequest) => {
      if (request.type === "stop") return resolve();
      collectGarbage();
      const { rss, heapUsed, external } = process.memoryUsage();
      send({ type: "memory", rss, heapUsed, external, connections: streamz.connections().length });
    });
    // The parent died: do not linger.
    process.on("disconnect", resolve);
  });
  send({ type: "ready", port: (http.address() as AddressInfo).port });
  await stopped;
  await streamz.close({ code: 1001, reason: "bench over" });
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await manager.close();
});
process.disconnect?.();
