import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { logEntry, runCli, type ServeProcess } from "./child.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let dataDir: string;
const running = new Set<ServeProcess>();

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-serve-"));
});

afterEach(async () => {
  for (const serve of running) {
    if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL");
    await serve.exit();
  }
  running.clear();
  await rm(dataDir, { recursive: true, force: true });
});

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ServeProcess {
  const serve = runCli(args, env);
  running.add(serve);
  return serve;
}

/** Starts `streamkit serve` on a free port; resolves once it listens and /readyz says ready. */
async function startServe(...extra: string[]): Promise<{ serve: ServeProcess; url: string; token: string }> {
  const serve = cli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false", ...extra]);
  const listening = await logEntry(serve, "listening");
  const url = listening.url as string;
  const token = (await logEntry(serve, "dev token")).token as string;
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: "ready", dependencies: { listeners: { state: "ok" }, store: { state: "ok", backend: "level" } } });
  return { serve, url, token };
}

/**
 * A WebSocket peer that completes the upgrade and then never answers the close handshake, so the
 * server's graceful stop cannot finish before its close timeout (5 s by default).
 */
async function unresponsivePeer(url: string, token: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const upgraded = new Promise<void>((resolve, reject) => {
    socket.once("data", (chunk: Buffer) => {
      if (chunk.toString("latin1").startsWith("HTTP/1.1 101")) resolve();
      else reject(new Error(chunk.toString("latin1")));
      socket.pause();
    });
    socket.once("error", reject);
  });
  socket.write(
    [
      "GET /streamz HTTP/1.1",
      `Host: ${hostname}:${port}`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      `Authorization: Bearer ${token}`,
      "",
      "",
    ].join("\r\n"),
  );
  await upgraded;
  return socket;
}

async function readSegment(url: string, token: string, storeId: string): Promise<string[]> {
  const client = createClient(createWsProvider(url.replace("http:", "ws:"), { token }));
  try {
    const payloads: string[] = [];
    for await (const entry of client.consumeSegment(storeId, { space: "orders", segment: "order-1" })) payloads.push(decoder.decode(entry.payload));
    return payloads;
  } finally {
    await client.close();
  }
}

describe("streamkit serve (child process)", () => {
  it("serves with its printed token, stops on SIGTERM with 0 and keeps data and secret across a restart", async () => {
    const first = await startServe();
    const secretFile = join(dataDir, "jwt-secret");
    const secret = await readFile(secretFile, "utf8");
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);

    const storeId = randomUUID();
    const client = createClient(createWsProvider(first.url.replace("http:", "ws:"), { token: first.token }));
    const records = Array.from({ length: 50 }, (_, index) => ({ sequence: index + 1, payload: encoder.encode(`entry-${index + 1}`) }));
    const statuses = await client.produce(storeId, "orders", "order-1", records, { batchSize: 20 });
    expect(statuses.map((status) => status.lastSequence)).toEqual([20, 40, 50]);
    await client.close();
    const expected = records.map((record) => decoder.decode(record.payload));
    expect(await readSegment(first.url, first.token, storeId)).toEqual(expected);

    first.serve.child.kill("SIGTERM");
    expect(await first.serve.exit()).toEqual({ code: 0, signal: null });
    expect(first.serve.stderr()).toContain('"msg":"server stopped"');

    const second = await startServe();
    expect(await readFile(secretFile, "utf8")).toBe(secret);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    expect(second.serve.stderr()).toContain("using the HMAC secret kept in the data directory");
    // The first run's token still verifies: the secret was reused, not regenerated.
    expect(await readSegment(second.url, first.token, storeId)).toEqual(expected);

    second.serve.child.kill("SIGINT");
    expect(await second.serve.exit()).toEqual({ code: 0, signal: null });
  });

  it("logs the dev token and how to connect as a JSON line when logs are JSON, as a block for a person otherwise", { timeout: 90_000 }, async () => {
    const { serve, url, token } = await startServe();
    const entry = await logEntry(serve, "dev token");
    const wsUrl = url.replace(/^http/, "ws");
    expect(entry).toMatchObject({
      level: 30,
      scope: "streamkit::*",
      validHours: 24,
      token,
      client: `createClient(createWsProvider(${JSON.stringify(wsUrl)}, { token: ${JSON.stringify(token)} }))`,
      dashboard: `${url}/`,
      cli: expect.stringContaining(`STREAMKIT_TOKEN=${token}`),
    });
    // Every stderr line is JSON: nothing for a log collector to trip on.
    for (const line of serve.stderr().split("\n").filter((text) => text !== "")) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    serve.child.kill("SIGTERM");
    expect((await serve.exit()).code).toBe(0);

    const pretty = cli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "true"]);
    const line = await pretty.line((text) => text.startsWith("token: "), "the token line of the block");
    expect(line.slice("token: ".length)).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    await pretty.line((text) => text.startsWith("Dev token (scope streamkit::*"), "the block's heading");
    await pretty.line((text) => text.startsWith("dashboard: http://"), "the dashboard line");
    pretty.child.kill("SIGTERM");
    expect((await pretty.exit()).code).toBe(0);
  });

  it("answers /healthz and refuses a connection without a token", async () => {
    const { serve, url } = await startServe();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const refused = await new Promise<number | undefined>((resolve, reject) => {
      const socket = new WebSocket(`${url.replace("http:", "ws:")}/streamz`);
      socket.once("unexpected-response", (_request, response) => {
        resolve(response.statusCode);
        socket.terminate();
      });
      socket.once("open", () => reject(new Error("the upgrade was accepted without a token")));
      socket.on("error", reject);
    });
    expect(refused).toBe(401);
    serve.child.kill("SIGTERM");
    expect((await serve.exit()).code).toBe(0);
  });

  it("forces exit 1 when the graceful stop outlasts shutdownTimeoutMs", async () => {
    const { serve, url, token } = await startServe("--shutdown-timeout-ms", "200");
    const peer = await unresponsivePeer(url, token);
    serve.child.kill("SIGTERM");
    expect(await serve.exit()).toEqual({ code: 1, signal: null });
    expect(serve.stderr()).toContain('"reason":"shutdown timeout","msg":"forced exit before a graceful stop"');
    peer.destroy();
  });

  it("forces exit 1 on a second signal", async () => {
    const { serve, url, token } = await startServe("--shutdown-timeout-ms", "60000");
    const peer = await unresponsivePeer(url, token);
    serve.child.kill("SIGTERM");
    await logEntry(serve, "shutting down");
    serve.child.kill("SIGINT");
    expect(await serve.exit()).toEqual({ code: 1, signal: null });
    expect(serve.stderr()).toContain('"reason":"second SIGINT","msg":"forced exit before a graceful stop"');
    peer.destroy();
  });

  it("exits with 2 and lists every configuration problem", async () => {
    const serve = cli(["serve", "--port", "99999", "--bogus"], { STREAMKIT_LOG_LEVEL: "loud" });
    expect((await serve.exit()).code).toBe(2);
    expect(serve.stderr()).toBe(
      [
        "streamkit serve: invalid configuration",
        '  - logLevel: must be one of fatal, error, warn, info, debug, trace, silent, got "loud" (from STREAMKIT_LOG_LEVEL)',
        '  - port: must be an integer 0-65535, got "99999" (from --port)',
        "  - unknown flag --bogus",
        "",
      ].join("\n"),
    );
  });

  it("prints help for the verb and refuses an unknown verb", async () => {
    const help = cli(["serve", "--help"]);
    expect((await help.exit()).code).toBe(0);
    expect(help.stdout()).toContain("Usage: streamkit serve [flags]");
    expect(help.stdout()).toContain("--unix-socket <value>");
    const unknown = cli(["sevre"]);
    expect((await unknown.exit()).code).toBe(2);
    expect(unknown.stderr()).toContain('streamkit: unknown command "sevre"');
    const version = cli(["--version"]);
    expect((await version.exit()).code).toBe(0);
    expect(version.stdout()).toMatch(/^streamkit \d+\.\d+\.\d+\n$/);
  });

  it("exits with 1 when the port is taken", async () => {
    const { serve, url } = await startServe();
    const port = new URL(url).port;
    const otherDir = join(dataDir, "other");
    const clash = cli(["serve", "--port", port, "--data-dir", otherDir, "--log-pretty", "false"]);
    expect((await clash.exit()).code).toBe(1);
    expect(clash.stderr()).toContain("cannot start");
    serve.child.kill("SIGTERM");
    expect((await serve.exit()).code).toBe(0);
  });
});
