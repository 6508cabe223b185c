import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import {
  createMemoryBusFactory,
  createNodeManager,
  createOperatorHandler,
  type OperatorHandler,
  type OperatorOptions,
  ServerActivity,
  type StoreNodeManager,
} from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, type StreamzServer } from "../../transport/ws/index.js";
import { bytes, records } from "../support/data.js";
import { RecordingTracerProvider } from "./recording-tracer.js";
import { call, eventually, SseReader } from "./support.js";

interface HostApp {
  url: string;
  manager: StoreNodeManager;
  activity: ServerActivity;
  operator: OperatorHandler;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A host app's own HTTP server with the operator handler mounted in front of its routes. */
async function hostApp(options: Partial<OperatorOptions> = {}, busFactory = createMemoryBusFactory()): Promise<HostApp> {
  const activity = new ServerActivity();
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), busFactory, observer: activity, idleEviction: false });
  const server: Server = createServer();
  const streamz: StreamzServer = attachStreamz(server, { manager });
  const operator = createOperatorHandler({ manager, activity, streamz, ...options });
  server.on("request", (request, response) => {
    if (operator(request, response)) return;
    response.writeHead(200, { "content-type": "text/plain" }).end("host app");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    await operator.close();
    await streamz.close();
    await manager.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, manager, activity, operator };
}

describe("the operator handler mounted in a host app", () => {
  it("answers its own paths and leaves the others, `/` included when asked, to the host", async () => {
    const app = await hostApp({ dashboardAtRoot: false });
    expect((await call(`${app.url}/api/status`)).status).toBe(200);
    expect((await call<string>(`${app.url}/dashboard`)).body).toContain("<title>Streamkit");
    expect((await call<string>(`${app.url}/`)).body).toBe("host app");
    expect((await call<string>(`${app.url}/orders/42`)).body).toBe("host app");
  });

  it("keeps status streams open with heartbeat comments", async () => {
    const app = await hostApp({ heartbeatMs: 20 });
    const stream = await SseReader.open(`${app.url}/api/status/stream`);
    try {
      const heartbeat = await stream.next((event) => event.comment !== undefined, "a heartbeat comment");
      expect(heartbeat).toMatchObject({ comment: "heartbeat", event: undefined, data: "" });
    } finally {
      stream.close();
    }
  });

  it("bounds status streams, and a closed one frees its place", async () => {
    const app = await hostApp({ maxStatusClients: 1 });
    const first = await SseReader.open(`${app.url}/api/status/stream`);
    await first.nextStatus(() => true, "the first client's snapshot");
    const refused = await call(`${app.url}/api/status/stream`);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ kind: "resource_exhausted", message: "too many status streams open (limit 1)" });
    first.close();
    const second = await eventually(
      () => SseReader.open(`${app.url}/api/status/stream`),
      (reader) => {
        if (reader.status !== 200) reader.close();
        return reader.status === 200;
      },
      "a place for a new status stream",
    );
    second.close();
  });

  it("lists the other instances on the same bus with their last-seen time, stale once they stop announcing", async () => {
    const bus = createMemoryBusFactory();
    const first = await hostApp({}, bus);
    const second = await hostApp({}, bus);
    const seen = await eventually(
      async () => first.operator.status().instances,
      (instances) => instances.length === 1,
      "the second instance to be heard",
    );
    expect(seen).toEqual([
      { nodeId: second.manager.nodeId, version: expect.any(String), startedAt: expect.any(Number), lastSeen: expect.any(Number), connections: 0, address: null, streams: 0, stale: false },
    ]);
    expect((await call<{ instances: unknown[] }>(`${first.url}/api/status`)).body.instances).toEqual(seen);

    // Past three of its 5 s announcement periods without news, an instance is stale; past twelve it is dropped.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      await second.operator.close();
      vi.setSystemTime(Date.now() + 15_001);
      expect(first.operator.status().instances).toEqual([expect.objectContaining({ nodeId: second.manager.nodeId, stale: true })]);
      vi.setSystemTime(Date.now() + 45_000);
      expect(first.operator.status().instances).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("tracing hooks", () => {
  afterEach(() => {
    trace.disable();
  });

  it("wrap every operation in a span with store, space, segment and op, and mark failures", async () => {
    const provider = new RecordingTracerProvider();
    trace.setGlobalTracerProvider(provider);
    const app = await hostApp();
    const client = createClient(createInProcProvider(app.manager));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 2));
      await client.publish(storeId, "orders", "o-2", bytes("x"));
      await expect(client.produce(storeId, "orders", "o-1", records(7, 1))).rejects.toMatchObject({ kind: "sequence_conflict" });
      await client.getSpaces(storeId);
    } finally {
      await client.close();
    }
    // A client has its answer before the server ends the stream: closing the manager waits for every handler.
    await app.manager.close();
    expect(provider.tracerNames).toContain("streamkit");
    const spans = provider.spans.map((span) => ({ name: span.name, kind: span.kind, attributes: span.attributes, status: span.status.code, ended: span.ended }));
    const base = { kind: SpanKind.SERVER, ended: true };
    expect(spans).toEqual([
      {
        ...base,
        name: "streamkit produce",
        attributes: { "streamkit.store": storeId, "streamkit.op": "produce", "streamkit.space": "orders", "streamkit.segment": "o-1" },
        status: SpanStatusCode.UNSET,
      },
      {
        ...base,
        name: "streamkit publish",
        attributes: { "streamkit.store": storeId, "streamkit.op": "publish", "streamkit.space": "orders", "streamkit.segment": "o-2" },
        status: SpanStatusCode.UNSET,
      },
      {
        ...base,
        name: "streamkit produce",
        attributes: {
          "streamkit.store": storeId,
          "streamkit.op": "produce",
          "streamkit.space": "orders",
          "streamkit.segment": "o-1",
          "streamkit.error.kind": "sequence_conflict",
        },
        status: SpanStatusCode.ERROR,
      },
      { ...base, name: "streamkit get_spaces", attributes: { "streamkit.store": storeId, "streamkit.op": "get_spaces" }, status: SpanStatusCode.UNSET },
    ]);
    expect(provider.spans[2]!.exceptions).toHaveLength(1);
  });
});
