import { describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import type { OperatorStatus } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { bytes, collect, records } from "../support/data.js";
import { call, eventually, getStatus, mintToken, parseMetrics, useServers } from "./support.js";

const servers = useServers();

describe("operator endpoints", () => {
  it("/version names the package, Node.js, the instance and its start", async () => {
    const server = await servers.start();
    const before = Date.now();
    const { status, body } = await call<Record<string, unknown>>(`${server.url}/version`);
    expect(status).toBe(200);
    expect(body).toEqual({
      name: "streamkit-ts",
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: process.version,
      nodeId: expect.any(String),
      startedAt: expect.any(Number),
    });
    expect(body.startedAt as number).toBeLessThanOrEqual(before);
  });

  it("/api/status describes the instance, its connections and stores", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"], "status-reader") }));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 3));
      const { status, headers, body } = await call<OperatorStatus>(`${server.url}/api/status`);
      expect(status).toBe(200);
      expect(headers.get("cache-control")).toBe("no-store");
      const version = (await call<{ nodeId: string }>(`${server.url}/version`)).body;
      expect(body.instance).toEqual({
        nodeId: version.nodeId,
        address: server.url,
        version: expect.any(String),
        nodeVersion: process.version,
        startedAt: expect.any(Number),
        uptimeMs: expect.any(Number),
        now: expect.any(Number),
      });
      expect(body.connections).toEqual([
        {
          id: expect.any(String),
          clientAddress: "127.0.0.1",
          userAgent: null,
          subject: "status-reader",
          openedAt: expect.any(Number),
          lastHeartbeat: null,
          stale: false,
          streams: 0,
          stores: [],
          bytesIn: expect.any(Number),
          bytesOut: expect.any(Number),
          unsentBytes: expect.any(Number),
          readPaused: false,
          memoryBytes: 0,
        },
      ]);
      expect(body.stores).toEqual([
        expect.objectContaining({ storeId, node: "open", openStreams: 0, lastAccess: expect.any(Number), circuit: "closed", failures: 0 }),
      ]);
      expect(body.counts).toEqual({ connections: 1, staleConnections: 0, streams: 0, nodes: 1, subscriptions: 0, leases: 0, workers: 0 });
      expect(body.resources).toEqual({
        openStores: 1,
        maxOpenStores: expect.any(Number),
        waitingOpens: 0,
        descriptors: expect.any(Number),
        descriptorLimit: expect.any(Number),
      });
      expect(body.resources.maxOpenStores).toBeGreaterThanOrEqual(1);
      expect(body.resources.descriptors).toBeGreaterThan(0);
      expect(body.totals).toMatchObject({ entriesProduced: 3, bytesProduced: 9, entriesConsumed: 0, errors: {} });
      expect(body.rates).toMatchObject({ windowMs: 10_000 });
      expect(body.bus).toEqual({ connected: true, published: expect.any(Number), dropped: 0 });
      expect(body.instances).toEqual([]);
      expect(body.errors).toEqual([]);
      expect(body.streamsByOp).toEqual({});
    } finally {
      await client.close();
    }
  });

  it("/api/status counts open subscriptions and live leases, and lists errors", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      const subscription = await client.subscribeToSegment(storeId, "orders", "o-1", () => undefined);
      await client.acquireLease(storeId, "leader", { holder: "me", ttlMs: 60_000 });
      await expect(client.produce(storeId, "orders", "o-1", records(5, 1))).rejects.toMatchObject({ kind: "sequence_conflict" });
      // A unary call has its answer a moment before the server ends its stream: wait for the streams to settle.
      const status = await eventually(() => getStatus(server.url), (s) => s.counts.streams === 1, "one open stream");
      expect(status.counts).toMatchObject({ subscriptions: 1, leases: 1, streams: 1 });
      expect(status.streamsByOp).toEqual({ subscribe_to_segment_status: 1 });
      expect(status.connections[0]).toMatchObject({ streams: 1, stores: [storeId] });
      expect(status.errors).toEqual([{ at: expect.any(Number), storeId, op: "produce", kind: "sequence_conflict", message: expect.any(String) }]);
      expect(status.totals.errors).toEqual({ sequence_conflict: 1 });

      await subscription.unsubscribe();
      await client.releaseLease(storeId, "leader", { holder: "me" });
      const after = await eventually(() => getStatus(server.url), (s) => s.counts.streams === 0, "the subscription to end");
      expect(after.counts).toMatchObject({ subscriptions: 0, leases: 0 });
      // An unsubscribe is the client's doing, not an error.
      expect(after.totals.errors).toEqual({ sequence_conflict: 1 });
    } finally {
      await client.close();
    }
  });

  it("/metrics serves Prometheus text whose counters move with produce and consume", async () => {
    const server = await servers.start();
    const scrape = async () => {
      const { status, headers, body } = await call<string>(`${server.url}/metrics`);
      expect(status).toBe(200);
      expect(headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseMetrics(body);
    };
    const before = await scrape();
    expect(before.get("streamkit_produced_entries_total")).toBe(0);
    expect(before.get("streamkit_connections")).toBe(0);
    // Every label set is there from the first scrape, at 0, so rate() and alerts see it before it first moves.
    expect(before.get('streamkit_errors_total{kind="sequence_conflict"}')).toBe(0);
    expect(before.get('streamkit_errors_total{kind="internal"}')).toBe(0);
    expect(before.get('streamkit_streams_total{op="consume_space"}')).toBe(0);
    expect(before.get('streamkit_streams_open{op="subscribe_workers"}')).toBe(0);
    expect(before.get('streamkit_node_evictions_total{reason="capacity"}')).toBe(0);
    expect(before.get('streamkit_request_duration_seconds_count{op="peek"}')).toBe(0);
    expect(before.get("streamkit_commit_duration_seconds_count")).toBe(0);
    expect(before.get("streamkit_follow_lag_seconds_count")).toBe(0);
    const buildInfo = [...before].filter(([name]) => name.startsWith("streamkit_build_info{"));
    expect(buildInfo).toEqual([[expect.stringMatching(/version="\d+\.\d+\.\d+.*",node_version="v\d+/), 1]]);
    // Process metrics are there; their value counts CPU since the registry was made, in clock ticks, so it may still be 0.
    expect(before.get("process_cpu_user_seconds_total")).toBeGreaterThanOrEqual(0);

    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 4, "abc"));
      await client.publish(storeId, "orders", "o-2", bytes("hello"));
      const read = await collect(client.consumeSegment(storeId, { space: "orders", segment: "o-1" }));
      expect(read).toHaveLength(4);
      await expect(client.produce(storeId, "orders", "o-1", records(9, 1))).rejects.toMatchObject({ kind: "sequence_conflict" });

      const after = await scrape();
      const payload = records(1, 4, "abc").reduce((sum, record) => sum + record.payload.byteLength, 0);
      expect(after.get("streamkit_produced_entries_total")).toBe(5);
      expect(after.get("streamkit_produced_bytes_total")).toBe(payload + 5);
      expect(after.get("streamkit_consumed_entries_total")).toBe(4);
      expect(after.get("streamkit_consumed_bytes_total")).toBe(payload);
      expect(after.get('streamkit_streams_total{op="produce"}')).toBe(2);
      expect(after.get('streamkit_streams_total{op="publish"}')).toBe(1);
      expect(after.get('streamkit_streams_total{op="consume_segment"}')).toBe(1);
      expect(after.get('streamkit_streams_open{op="produce"}')).toBe(0);
      expect(after.get('streamkit_errors_total{kind="sequence_conflict"}')).toBe(1);
      expect(after.get("streamkit_connections")).toBe(1);
      expect(after.get("streamkit_nodes_open")).toBe(1);
      expect(after.get("streamkit_open_stores")).toBe(1);
      expect(after.get("streamkit_max_open_stores")).toBeGreaterThanOrEqual(1);
      expect(after.get("streamkit_descriptors_open")).toBeGreaterThan(0);
      // One commit notification per committed batch (produce and publish); the instance's own announcements add to it.
      expect(after.get("streamkit_bus_published_total")).toBeGreaterThanOrEqual((before.get("streamkit_bus_published_total") ?? 0) + 2);
      expect(after.get("streamkit_bus_dropped_total")).toBe(0);
      for (const name of ["streamkit_subscriptions", "streamkit_leases_held", "streamkit_workers", "streamkit_circuit_opens_total"]) {
        expect(after.get(name), name).toBe(0);
      }
      // Two committed batches and a publish reached the store (the conflicting batch failed there, untimed).
      expect(after.get("streamkit_commit_duration_seconds_count")).toBe(2);
      expect(after.get('streamkit_commit_duration_seconds_bucket{le="+Inf"}')).toBe(2);
      expect(after.get("streamkit_commit_duration_seconds_sum")).toBeGreaterThan(0);
      // One timed request per produce batch (the conflicting one answered by its error) and publish, and per read's first answer.
      expect(after.get('streamkit_request_duration_seconds_count{op="produce"}')).toBe(2);
      expect(after.get('streamkit_request_duration_seconds_count{op="publish"}')).toBe(1);
      expect(after.get('streamkit_request_duration_seconds_count{op="consume_segment"}')).toBe(1);
      expect(after.get('streamkit_request_duration_seconds_count{op="peek"}')).toBe(0);
      expect(after.get("streamkit_follow_lag_seconds_count")).toBe(0); // a read of history is not lag
    } finally {
      await client.close();
    }
  });

  it("/metrics times a follow's live entries from their commit", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const scrape = async () => parseMetrics((await call<string>(`${server.url}/metrics`)).body);
    try {
      const follow = client.consumeSegment(storeId, { space: "orders", segment: "o-1", follow: true })[Symbol.asyncIterator]();
      const first = follow.next();
      // An empty segment: the follow's first answer is caught_up, so once it is timed the follow is live.
      await eventually(scrape, (m) => m.get('streamkit_request_duration_seconds_count{op="consume_segment"}') === 1, "the follow's caught_up");
      expect((await scrape()).get("streamkit_follow_lag_seconds_count")).toBe(0);
      await client.publish(storeId, "orders", "o-1", bytes("live"));
      expect((await first).value).toMatchObject({ sequence: 1 });
      const after = await scrape();
      expect(after.get("streamkit_follow_lag_seconds_count")).toBe(1);
      expect(after.get('streamkit_follow_lag_seconds_bucket{le="+Inf"}')).toBe(1);
      await follow.return?.();
    } finally {
      await client.close();
    }
  });

  it("two servers in one process keep their own metrics", async () => {
    const first = await servers.start();
    const second = await servers.start();
    const client = createClient(createWsProvider(first.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    try {
      await client.publish(crypto.randomUUID(), "s", "g", bytes("x"));
    } finally {
      await client.close();
    }
    const metricsOf = async (url: string) => parseMetrics((await call<string>(`${url}/metrics`)).body);
    expect((await metricsOf(first.url)).get("streamkit_produced_entries_total")).toBe(1);
    expect((await metricsOf(second.url)).get("streamkit_produced_entries_total")).toBe(0);
  });

  it("serves the dashboard at / and /dashboard with its script and style", async () => {
    const server = await servers.start();
    for (const path of ["/", "/dashboard", "/dashboard/"]) {
      const { status, headers, body } = await call<string>(`${server.url}${path}`);
      expect(status, path).toBe(200);
      expect(headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(body).toContain('<script src="/dashboard/app.js" defer></script>');
    }
    const script = await call<string>(`${server.url}/dashboard/app.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.body).toContain('new EventSource("/api/status/stream")');
    const style = await call<string>(`${server.url}/dashboard/style.css`);
    expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(style.body).toContain("prefers-color-scheme: dark");
  });

  it("answers HEAD without a body, and wrong methods and unknown operator paths with JSON errors", async () => {
    const server = await servers.start();
    const head = await fetch(`${server.url}/api/status`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");

    const wrongMethod = await call(`${server.url}/api/status`, { method: "POST" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD");
    expect(wrongMethod.body).toEqual({ kind: "invalid_argument", message: expect.stringContaining("POST") });

    const getAdmin = await call(`${server.url}/api/admin/connections/c1/close`);
    expect(getAdmin.status).toBe(405);
    expect(getAdmin.headers.get("allow")).toBe("POST");

    for (const path of ["/api/admin/unknown", "/api/status/unknown"]) {
      const unknown = await call(`${server.url}${path}`, { method: "POST" });
      expect(unknown.status, path).toBe(404);
      expect(unknown.body).toEqual({ kind: "not_found", message: expect.stringContaining(path) });
    }
    // Paths outside the operator's namespaces are left to the rest of the server.
    expect((await call(`${server.url}/healthz`)).body).toEqual({ status: "ok" });
    expect((await call(`${server.url}/elsewhere`)).status).toBe(404);
  });
});
