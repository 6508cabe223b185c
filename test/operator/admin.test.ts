import { rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { bytes, records } from "../support/data.js";
import { RawClient } from "../support/ws-raw-client.js";
import { call, eventually, getStatus, mintToken, parseMetrics, useServers, WAIT_MS } from "./support.js";

const servers = useServers();

const post = (url: string, headers: Record<string, string> = {}) => call<{ kind?: string; message?: string }>(url, { method: "POST", headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** POSTs with a chosen Host header; resolves to the status code. */
function postWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: "POST", headers: { host }, timeout: WAIT_MS }, (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
    });
    sent.once("timeout", () => sent.destroy(new Error("no answer")));
    sent.once("error", reject);
    sent.end();
  });
}

describe("admin endpoints: access", () => {
  it("take local requests without a token", async () => {
    const server = await servers.start();
    const answer = await post(`${server.url}/api/admin/connections/c999/close`);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ kind: "not_found", message: 'no open connection "c999"' });
  });

  it("without loopback trust: 401 without a valid token, 403 without the admin scope, 200 with it", async () => {
    const server = await servers.start({ operator: { trustLoopback: false } });
    const raw = await RawClient.connect(`${server.wsUrl}/streamz`, { token: await mintToken(["streamkit::*"]) });
    const { connections } = await getStatus(server.url);
    const id = connections[0]!.id;
    const url = `${server.url}/api/admin/connections/${id}/close`;

    const anonymous = await post(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="streamkit"');
    expect(anonymous.body).toEqual({ kind: "unauthenticated", message: expect.stringContaining("streamkit::admin") });

    const forged = await post(url, bearer(`${await mintToken(["streamkit::admin"])}x`));
    expect(forged.status).toBe(401);
    expect(forged.body.kind).toBe("unauthenticated");

    const storeScoped = await post(url, bearer(await mintToken(["streamkit::*"])));
    expect(storeScoped.status).toBe(403);
    expect(storeScoped.body).toEqual({ kind: "permission_denied", message: "the token lacks the streamkit::admin scope" });

    const admin = bearer(await mintToken(["streamkit::admin"], "ops"));
    const crossSite = await post(url, { ...admin, "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await post(url, { ...admin, origin: "http://evil.example" });
    expect(otherOrigin.status).toBe(403);
    expect(raw.isClosed).toBe(false);

    const allowed = await post(url, admin);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ ok: true, connection: id });
    expect((await raw.closed).code).toBe(4002);
  });

  it("do not extend loopback trust to proxied requests or other host names", async () => {
    const server = await servers.start();
    const url = `${server.url}/api/admin/connections/c999/close`;
    expect((await post(url, { "x-forwarded-for": "203.0.113.9" })).status).toBe(401);
    // fetch may not set Host; node:http may (as a DNS-rebinding page's browser would, with its own name).
    expect(await postWithHost(url, "attacker.example")).toBe(401);
    expect(await postWithHost(url, "localhost:1234")).toBe(404);
  });
});

describe("admin endpoints: actions", () => {
  it("close a connection: the client sees code 4002 and the status drops it", async () => {
    const server = await servers.start();
    const raw = await RawClient.connect(`${server.wsUrl}/streamz`, { token: await mintToken(["streamkit::*"], "to-close") });
    const { connections } = await getStatus(server.url);
    expect(connections).toHaveLength(1);
    const answer = await post(`${server.url}/api/admin/connections/${connections[0]!.id}/close`);
    expect(answer.status).toBe(200);
    expect(await raw.closed).toEqual({ code: 4002, reason: "closed by an operator" });
    await eventually(() => getStatus(server.url), (status) => status.connections.length === 0, "the connection to leave the status");
  });

  it("evict a store's node: the node closes, its data stays, and evicting again is 404", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 2));
      expect((await getStatus(server.url)).stores).toEqual([expect.objectContaining({ storeId, node: "open" })]);

      const evicted = await post(`${server.url}/api/admin/stores/${storeId.toUpperCase()}/evict`);
      expect(evicted.status).toBe(200);
      expect(evicted.body).toEqual({ ok: true, storeId });
      const after = await getStatus(server.url);
      expect(after.counts.nodes).toBe(0);
      expect(after.stores.filter((store) => store.node === "open")).toEqual([]);
      const metrics = parseMetrics((await call<string>(`${server.url}/metrics`)).body);
      expect(metrics.get('streamkit_node_evictions_total{reason="removed"}')).toBe(1);

      expect((await post(`${server.url}/api/admin/stores/${storeId}/evict`)).status).toBe(404);
      const invalid = await post(`${server.url}/api/admin/stores/not-a-uuid/evict`);
      expect(invalid.status).toBe(400);
      expect(invalid.body.kind).toBe("invalid_argument");
      // The store opens again on the next access, with its data.
      expect((await client.peek(storeId, "orders", "o-1")).sequence).toBe(2);
    } finally {
      await client.close();
    }
  });

  it("reset a store's circuit: a store that failed to open is tried again at once", async () => {
    // One database per store, so that a plain file where the store's directory belongs makes every open fail.
    const server = await servers.start({}, { store: "level", levelLayout: "per-store" });
    const storeId = crypto.randomUUID();
    const blocker = join(servers.dir(), "data", storeId);
    await writeFile(blocker, "not a database");
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        await expect(client.publish(storeId, "s", "g", bytes("x"))).rejects.toMatchObject({ kind: "unavailable" });
      }
      const open = (await getStatus(server.url)).stores.find((store) => store.storeId === storeId);
      expect(open).toMatchObject({ node: "closed", circuit: "open", failures: 3 });
      expect(open!.retryAfterMs).toBeGreaterThan(0);
      const metrics = parseMetrics((await call<string>(`${server.url}/metrics`)).body);
      expect(metrics.get("streamkit_circuit_opens_total")).toBe(1);
      expect(metrics.get('streamkit_errors_total{kind="unavailable"}')).toBe(3);

      await rm(blocker);
      // Still failing fast: the circuit is open for its whole window.
      await expect(client.publish(storeId, "s", "g", bytes("x"))).rejects.toMatchObject({ kind: "unavailable", retryAfterMs: expect.any(Number) });

      const reset = await post(`${server.url}/api/admin/stores/${storeId}/circuit/reset`);
      expect(reset.status).toBe(200);
      expect(reset.body).toEqual({ ok: true, storeId, previous: { storeId, state: "open", failures: 3, retryAfterMs: expect.any(Number) } });
      expect((await client.publish(storeId, "s", "g", bytes("x"))).lastSequence).toBe(1);
      expect((await getStatus(server.url)).stores.find((store) => store.storeId === storeId)).toMatchObject({ node: "open", circuit: "closed", failures: 0 });

      const again = await post(`${server.url}/api/admin/stores/${storeId}/circuit/reset`);
      expect(again.body).toEqual({ ok: true, storeId, previous: null });
    } finally {
      await client.close();
    }
  });
});
