// Idle connections: `count` authenticated WebSocket connections, opened from this process (at most
// `parallel` dials at once) to a server in a child process, held idle; reports the server process's
// memory per connection (RSS and heap after gc, minus the same after a warm-up), then closes them all.
import { fork } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { report } from "../harness.js";
import { BENCH_SECRET } from "../system.js";
import { signToken } from "../../pkg/server/index.js";
import type { ServerReply, ServerRequest } from "./idle-server.js";

const [count = 10_000, parallel = 200] = process.argv.slice(2).map(Number);
const WARMUP = 200;
const KB = 1024;

type Memory = Extract<ServerReply, { type: "memory" }>;

// The server runs as this case does: compiled (.js), or TypeScript through tsx.
const extension = extname(fileURLToPath(import.meta.url));
const server = fork(fileURLToPath(new URL(`./idle-server${extension}`, import.meta.url)), [String(count)], {
  execArgv: extension === ".ts" ? ["--import", "tsx", "--expose-gc"] : ["--expose-gc"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const replies: ((reply: ServerReply) => void)[] = [];
server.on("message", (reply: ServerReply) => replies.shift()?.(reply));
const nextReply = () => new Promise<ServerReply>((resolve) => replies.push(resolve));
const ask = async (request: ServerRequest): Promise<Memory> => {
  const reply = nextReply();
  server.send(request);
  const memory = await reply;
  if (memory.type !== "memory") throw new Error(`unexpected reply ${memory.type}`);
  return memory;
};

const ready = await nextReply();
if (ready.type !== "ready") throw new Error("the server did not start");
const url = `ws://127.0.0.1:${ready.port}/streamz`;
const token = await signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "idle", ttlSec: 3600 });

function dial(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
  });
}

async function openConnections(n: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let start = 0; start < n; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - start) }, dial);
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once("close", () => resolve());
          socket.close(1000, "done");
        }),
    ),
  );
}

/** Waits until the server counts `n` connections (its side of a dial completes a moment after ours). */
async function settle(n: number): Promise<Memory> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const memory = await ask({ type: "measure" });
    if (memory.connections === n) return memory;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server never counted ${n} connections`);
}

try {
  // Warm-up: the first connections load and compile the upgrade, auth and connection paths.
  await closeAll(await openConnections(WARMUP));
  const before = await settle(0);
  const started = performance.now();
  const sockets = await openConnections(count);
  const openMs = performance.now() - started;
  const after = await settle(count);
  await closeAll(sockets);
  await settle(0);
  const rssPer = (after.rss - before.rss) / count / KB;
  const heapPer = (after.heapUsed - before.heapUsed) / count / KB;
  const externalPer = (after.external - before.external) / count / KB;
  report({
    value: Math.round(rssPer * 10) / 10,
    unit: "KB RSS/conn",
    detail: `heap ${heapPer.toFixed(1)} KB + external ${externalPer.toFixed(1)} KB per connection; ${count} opened in ${Math.round(openMs)} ms`,
  });
} finally {
  server.send({ type: "stop" } satisfies ServerRequest);
  await new Promise<void>((resolve) => {
    if (server.exitCode !== null) return resolve();
    server.once("exit", () => resolve());
  });
}
