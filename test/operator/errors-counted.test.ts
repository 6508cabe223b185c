import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../pkg/cli/index.js";
import { createClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/auth/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { failureOf } from "../support/data.js";
import { refusedUpgrade } from "../support/ws-raw-client.js";

// Issue 11, item 9: every error is counted by kind and operation, refused upgrades by reason, and
// each shows under the dashboard's recent errors (/api/status). A real server, real WebSocket.

const SECRET = "errors-counted-secret-long-enough-for-hs256";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), "streamkit-errors-"));
  const server = await startServer({ port: 0, dataDir: dir, store: "memory", logLevel: "silent", auth: { jwtSecret: SECRET }, limits: { maxPayloadBytes: 1000 } });
  cleanups.push(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return server;
}

async function metrics(server: RunningServer): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(streamkit_[a-z_]+\{[^}]*\}) (\d+)$/.exec(line);
    if (match) values.set(match[1] ?? "", Number(match[2]));
  }
  return values;
}

describe("errors seen by operators", () => {
  it("counts permission_denied, oversized payloads and refused upgrades by kind, operation and reason, and lists them as recent errors", async () => {
    const server = await start();
    const storeId = randomUUID();
    const readOnly = await signToken({ secret: SECRET, scopes: [`streamkit::${storeId}:read`], ttlSec: 600 });
    const writer = await signToken({ secret: SECRET, scopes: [`streamkit::${storeId}`], ttlSec: 600 });
    const reader = createClient(createWsProvider(server.wsUrl, { token: readOnly }));
    const client = createClient(createWsProvider(server.wsUrl, { token: writer }));
    cleanups.push(() => reader.close(), () => client.close());

    expect(await failureOf(() => reader.publish(storeId, "s", "g", new Uint8Array([1])))).toMatchObject({ kind: "permission_denied" });
    expect(await failureOf(() => client.peek(randomUUID(), "s", "g"))).toMatchObject({ kind: "permission_denied" });
    // An oversized publish among good ones on the client's publish lane: only it fails.
    const [good, oversized] = await Promise.allSettled([client.publish(storeId, "s", "g", new Uint8Array(10)), client.publish(storeId, "s", "g", new Uint8Array(2000))]);
    expect(good.status).toBe("fulfilled");
    expect(oversized).toMatchObject({ status: "rejected", reason: { kind: "resource_exhausted" } });
    expect((await refusedUpgrade(`${server.wsUrl}/streamz`)).status).toBe(401);
    expect((await refusedUpgrade(`${server.wsUrl}/streamz`, { token: "not.a.token" })).status).toBe(401);

    const values = await metrics(server);
    expect(values.get('streamkit_operation_errors_total{op="publish",kind="permission_denied"}')).toBe(1);
    expect(values.get('streamkit_operation_errors_total{op="peek",kind="permission_denied"}')).toBe(1);
    expect(values.get('streamkit_operation_errors_total{op="publish",kind="resource_exhausted"}')).toBe(1);
    expect(values.get('streamkit_upgrades_refused_total{reason="missing_token"}')).toBe(1);
    expect(values.get('streamkit_upgrades_refused_total{reason="invalid_token"}')).toBe(1);
    expect(values.get('streamkit_operation_errors_total{op="upgrade",kind="unauthenticated"}')).toBe(2);
    expect(values.get('streamkit_errors_total{kind="permission_denied"}')).toBe(2);
    expect(values.get('streamkit_errors_total{kind="resource_exhausted"}')).toBe(1);

    const status = (await (await fetch(`${server.url}/api/status`)).json()) as { errors: { op: string; kind: string; storeId: string }[] };
    const seen = status.errors.map((error) => `${error.op}:${error.kind}`);
    expect(seen).toEqual(
      expect.arrayContaining(["publish:permission_denied", "peek:permission_denied", "publish:resource_exhausted", "upgrade:unauthenticated"]),
    );
  });
});
