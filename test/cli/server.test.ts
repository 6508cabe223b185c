import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { lstat, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ConfigError, type RunningServer, startServer } from "../../pkg/cli/index.js";
import { createClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/auth/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { SignJWT } from "jose";
import { refusedUpgrade } from "../support/ws-raw-client.js";
import { redis, skipping } from "../support/services.js";

let dir: string;
const servers: RunningServer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "streamkit-server-"));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const server = await startServer({ port: 0, dataDir: join(dir, "data"), logLevel: "silent", ...options });
  servers.push(server);
  return server;
}

interface Reply {
  status: number;
  body: string;
}

/** One HTTP request over TCP (`url`) or a unix socket (`socketPath`). */
function httpRequest(target: { url: string } | { socketPath: string; path: string }, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const call = "url" in target ? request(target.url, { method }) : request({ socketPath: target.socketPath, path: target.path, method });
    call.once("response", (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.once("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    call.once("error", reject);
    call.end();
  });
}

/** Leaves a socket file behind the way a crashed server does: its process is killed while listening. */
async function staleSocket(path: string): Promise<void> {
  const script = `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.stdout.write("up"))`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", () => reject(new Error("the socket holder exited early")));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

describe("startServer: unix socket", () => {
  it("serves /healthz, /readyz and WebSocket on the socket (mode 0660) and removes it on close", async () => {
    const socketPath = join(dir, "streamkit.sock");
    const server = await start({ unixSocket: socketPath });
    expect(server.unixSocket).toBe(socketPath);
    const stats = await stat(socketPath);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o660);

    const health = await httpRequest({ socketPath, path: "/healthz" });
    expect(health).toEqual({ status: 200, body: JSON.stringify({ status: "ok" }) });
    const ready = await httpRequest({ socketPath, path: "/readyz" });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      status: "ready",
      dependencies: { listeners: { state: "ok", unixSocket: socketPath }, store: { state: "ok", backend: "level" } },
    });

    const opened = await new Promise<boolean>((resolve, reject) => {
      const socket = new WebSocket(`ws+unix://${socketPath}:/streamz`, { headers: { authorization: `Bearer ${server.devToken!}` } });
      socket.once("open", () => {
        socket.close();
        resolve(true);
      });
      socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      socket.once("error", reject);
    });
    expect(opened).toBe(true);

    await server.close();
    await expect(lstat(socketPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("replaces a stale socket file left by a process that died", async () => {
    const socketPath = join(dir, "stale.sock");
    await staleSocket(socketPath);
    expect((await lstat(socketPath)).isSocket()).toBe(true);
    await expect(httpRequest({ socketPath, path: "/healthz" })).rejects.toMatchObject({ code: "ECONNREFUSED" });

    await start({ unixSocket: socketPath, store: "memory" });
    expect((await httpRequest({ socketPath, path: "/healthz" })).status).toBe(200);
  });

  it("refuses a socket a live server answers on, and a path that is not a socket", async () => {
    const socketPath = join(dir, "live.sock");
    const live = createServer();
    await new Promise<void>((resolve) => live.listen(socketPath, resolve));
    try {
      await expect(start({ unixSocket: socketPath, store: "memory" })).rejects.toMatchObject({
        kind: "unavailable",
        message: `unixSocket: another server is listening on ${socketPath}`,
      });
    } finally {
      await new Promise((resolve) => live.close(resolve));
    }
    const filePath = join(dir, "file.sock");
    await writeFile(filePath, "keep me");
    await expect(start({ unixSocket: filePath, store: "memory" })).rejects.toMatchObject({
      kind: "invalid_argument",
      message: `unixSocket: ${filePath} exists and is not a socket`,
    });
    expect((await stat(filePath)).isFile()).toBe(true);
  });
});

describe("startServer: probes, auth and shutdown", () => {
  it("answers the probes and nothing else", async () => {
    const server = await start({ store: "memory" });
    expect(await httpRequest({ url: `${server.url}/healthz` })).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect((await httpRequest({ url: `${server.url}/healthz` }, "HEAD")).status).toBe(200);
    const ready = await httpRequest({ url: `${server.url}/readyz` });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: "ready",
      dependencies: {
        listeners: { state: "ok", tcp: `127.0.0.1:${new URL(server.url).port}` },
        store: { state: "ok", backend: "memory" },
        commits: { state: "ok", failing: [] },
        bus: { state: "ok", backend: "memory", dropped: 0 },
      },
    });
    expect((await httpRequest({ url: `${server.url}/nope` })).status).toBe(404);
    expect((await httpRequest({ url: `${server.url}/healthz` }, "POST")).status).toBe(405);
  });

  it("verifies tokens with a configured secret and then prints no dev token nor writes a secret file", async () => {
    const secret = "a-configured-secret-of-32-bytes!!";
    const server = await start({ auth: { jwtSecret: secret, jwtIssuer: "tests" } });
    expect(server.devToken).toBeUndefined();
    expect(await readdir(join(dir, "data"))).not.toContain("jwt-secret");

    const token = await signToken({ secret, scopes: ["streamkit::*"], ttlSec: 60, issuer: "tests" });
    const client = createClient(createWsProvider(server.wsUrl, { token }));
    try {
      const storeId = randomUUID();
      await client.publish(storeId, "space", "segment", new TextEncoder().encode("hello"));
      expect((await client.peek(storeId, "space", "segment")).sequence).toBe(1);
    } finally {
      await client.close();
    }
  });

  it("refuses tokens of a configured key without exp or past the maximum lifetime at the upgrade, by default (issue 11)", async () => {
    const secret = "a-configured-secret-of-32-bytes!!";
    const key = new TextEncoder().encode(secret);
    const nowSec = Math.floor(Date.now() / 1000);
    const forever = await new SignJWT({ scope: "streamkit::*" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt(nowSec).sign(key);
    const yearLong = await new SignJWT({ scope: "streamkit::*" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt(nowSec).setExpirationTime(nowSec + 365 * 86_400).sign(key);
    const strict = await start({ auth: { jwtSecret: secret } });
    const refusedForever = await refusedUpgrade(`${strict.wsUrl}/streamz`, { token: forever });
    expect(refusedForever.status).toBe(401);
    expect(refusedForever.body).toContain("token has no expiry (exp)");
    const refusedLong = await refusedUpgrade(`${strict.wsUrl}/streamz`, { token: yearLong });
    expect(refusedLong.status).toBe(401);
    expect(refusedLong.body).toContain("token lifetime over the maximum of 2592000 s");

    const lenient = await start({ port: 0, dataDir: join(dir, "lenient"), auth: { jwtSecret: secret, requireExp: false, maxTokenLifetimeSec: 0 } });
    for (const token of [forever, yearLong]) {
      const client = createClient(createWsProvider(lenient.wsUrl, { token }));
      try {
        expect((await client.peek(randomUUID(), "space", "segment")).sequence).toBe(0);
      } finally {
        await client.close();
      }
    }
  });

  it("closes WebSocket connections with 1001 going away, and close is idempotent", async () => {
    const server = await start({ store: "memory" });
    const socket = new WebSocket(`${server.wsUrl}/streamz`, { headers: { authorization: `Bearer ${server.devToken!}` } });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    const closing = server.close();
    expect(server.close()).toBe(closing);
    await closing;
    expect(await closed).toEqual({ code: 1001, reason: "going away" });
    await expect(httpRequest({ url: `${server.url}/healthz` })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("refuses bus redis without a redisUrl", async () => {
    const error = await start({ bus: "redis" }).catch((caught: unknown) => caught);
    expect((error as ConfigError).problems).toEqual(["redisUrl: must be set when bus is redis (bus from startServer options) (from default)"]);
  });

  const redisUrl = redis.url;
  skipping(redis, "serve on the Redis bus");
  it.skipIf(redisUrl === undefined)("runs on the Redis bus and reports it ready, with live updates across two servers", async () => {
    const first = await start({ store: "memory", bus: "redis", redisUrl });
    // The bus connects in the background (a server starts even while Redis is down); /readyz says when it is up.
    const busOf = async (server: RunningServer): Promise<unknown> => {
      let bus: unknown;
      for (let attempt = 0; attempt < 200; attempt++) {
        const reply = await httpRequest({ url: `${server.url}/readyz` });
        bus = (JSON.parse(reply.body) as { dependencies: { bus: unknown } }).dependencies.bus;
        // Ready from the start (a bus that is down is only degraded): wait for the bus itself.
        if (reply.status === 200 && (bus as { state?: string }).state === "ok") break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return bus;
    };
    const bus = await busOf(first);
    expect(bus).toEqual({ state: "ok", backend: "redis", dropped: 0 });
    // A second server on its own data: its produces reach subscribers of the first only through Redis.
    const secondDir = await mkdtemp(join(tmpdir(), "streamkit-server-"));
    const second = await startServer({ port: 0, dataDir: secondDir, store: "memory", bus: "redis", redisUrl, logLevel: "silent" });
    servers.push(second);
    // A notification published while the second server's bus is still connecting is dropped (by design).
    expect(await busOf(second)).toMatchObject({ state: "ok" });
    const storeId = randomUUID();
    const subscriber = createClient(createWsProvider(first.wsUrl, { token: first.devToken }));
    const seen: number[] = [];
    let wake = (): void => undefined;
    const sub = await subscriber.subscribeToSegment(storeId, "space", "segment", (status) => {
      seen.push(status.lastSequence);
      wake();
    });
    // Produce through the second server to the same store id (memory stores are separate, so its head is its own).
    const producer = createClient(createWsProvider(second.wsUrl, { token: second.devToken }));
    await producer.publish(storeId, "space", "segment", new TextEncoder().encode("x"));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no notification through Redis; saw ${seen.join(",")}`)), 10_000);
      wake = () => {
        if (seen.includes(1)) {
          clearTimeout(timer);
          resolve();
        }
      };
      wake();
    });
    await sub.unsubscribe();
    await Promise.all([subscriber.close(), producer.close()]);
    await rm(secondDir, { recursive: true, force: true });
  });

  it("rejects invalid options with every problem", async () => {
    const error = await start({ port: 70_000, store: "sql" as "memory" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "port: must be an integer 0-65535, got 70000 (from startServer options)",
      'store: must be one of level, memory, postgres, got "sql" (from startServer options)',
    ]);
  });
});
