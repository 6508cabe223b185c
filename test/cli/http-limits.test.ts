import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../pkg/cli/index.js";
import { createNodeManager, type Authenticator } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { attachStreamz } from "../../transport/ws/index.js";
import { bounded } from "../support/waits.js";

let dir: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "streamkit-http-limits-"));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function start(limits: Record<string, number>): Promise<RunningServer> {
  const server = await startServer({ port: 0, dataDir: join(dir, "data"), store: "memory", logLevel: "silent", limits });
  cleanups.push(() => server.close());
  return server;
}

/** Opens a raw TCP connection, writes `text` and resolves with everything the server answered once it closes the connection. */
function halfOpen(url: string, text: string): { socket: Socket; answer: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname, () => socket.write(text));
  cleanups.push(async () => void socket.destroy());
  let received = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
  socket.on("error", () => undefined);
  const answer = new Promise<string>((resolve) => socket.once("close", () => resolve(received)));
  return { socket, answer: bounded(answer, `the server to close a half-open request (${JSON.stringify(text.slice(0, 30))})`) };
}

describe("HTTP request bounds of serve", () => {
  it("closes requests that send part of their headers and then nothing, upgrades included", async () => {
    const server = await start({ headersTimeoutMs: 200, requestTimeoutMs: 200 });
    const partial = [
      "GET /healthz HTTP/1.1\r\nHost: x\r\n",
      "GET /streamz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
      "G",
    ].map((text) => halfOpen(server.url, text));
    for (const { answer } of partial) expect(await answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it("closes upgrade requests for paths nobody serves with 404", async () => {
    const server = await start({});
    const { answer } = halfOpen(server.url, "GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    expect(await answer).toMatch(/^HTTP\/1\.1 404/);
  });

  it("closes an idle kept-alive connection", async () => {
    const server = await start({ keepAliveTimeoutMs: 200 });
    const { answer } = halfOpen(server.url, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await answer).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("upgrade timeout", () => {
  it("refuses an upgrade whose authentication does not answer in time with 503", async () => {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    const hanging: Authenticator = { clockToleranceSec: 0, authenticate: () => new Promise(() => undefined) };
    const streamz = attachStreamz(http, { manager, authenticator: hanging, upgradeTimeoutMs: 100 });
    cleanups.push(async () => {
      await streamz.close();
      await manager.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const address = http.address() as { port: number };
    const request = "GET /streamz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer abc\r\n\r\n";
    const { answer } = halfOpen(`http://127.0.0.1:${address.port}`, request);
    expect(await answer).toMatch(/^HTTP\/1\.1 503[^]*upgrade timed out/);
  });
});
