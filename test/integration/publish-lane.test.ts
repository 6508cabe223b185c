import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Provider, StreamsError } from "../../pkg/api/index.js";
import { createClient, type SegmentStatus, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createNodeManager, ServerActivity } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, createWsProvider } from "../../transport/ws/index.js";
import { bytes, collect, failureOf, text, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";
import { bounded } from "../support/waits.js";

const MiB = 1024 * 1024;

/** Publishes `count` payloads "p0".."p<count-1>" at once, in call order. */
function publishMany(client: StreamsClient, storeId: string, count: number, segment = "g"): Promise<SegmentStatus>[] {
  return Array.from({ length: count }, (_, i) => client.publish(storeId, "s", segment, bytes(`p${i}`)));
}

describe.each(configurations)("publish lane over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("answers many concurrent publishes in call order, at contiguous sequences", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const statuses = await Promise.all(publishMany(client, storeId, 500));
    expect(statuses.map((status) => status.lastSequence)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(statuses[0]).toMatchObject({ space: "s", segment: "g", firstSequence: 1 });
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((entry) => [entry.sequence, text(entry.payload)])).toEqual(statuses.map((status, i) => [status.lastSequence, `p${i}`]));
  });

  it("fails only the invalid publish among valid ones", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const before = publishMany(client, storeId, 20);
    const invalid = failureOf(() => client.publish(storeId, "*", "g", bytes("bad")));
    const after = publishMany(client, storeId, 20);
    expect(await invalid).toMatchObject({ kind: "invalid_argument" });
    const statuses = await Promise.all([...before, ...after]);
    expect(statuses.map((status) => status.lastSequence)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await client.getSpaces(storeId)).toEqual(["s"]);
  });

  it("fails only the oversize publish among valid ones", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const before = publishMany(client, storeId, 10);
    const oversize = failureOf(() => client.publish(storeId, "s", "g", new Uint8Array(6 * MiB + 1)));
    const after = publishMany(client, storeId, 10);
    expect(await oversize).toMatchObject({ kind: "resource_exhausted", code: "permanent" });
    const statuses = await Promise.all([...before, ...after]);
    expect(statuses.map((status) => status.lastSequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("rejects a call aborted before it left with cancelled and never sends it, while the others are answered", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const before = publishMany(client, storeId, 10);
    const controller = new AbortController();
    const aborted = failureOf(() => client.publish(storeId, "s", "g", bytes("aborted"), { signal: controller.signal }));
    const after = publishMany(client, storeId, 10);
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await aborted;
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "cancelled" });
    expect((error as StreamsError).cause).toBe(reason);
    const statuses = await Promise.all([...before, ...after]);
    expect(statuses.slice(0, 10).map((status) => status.lastSequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    // Aborted in the turn it was made, the publish was still batching: it never went out.
    expect(statuses.slice(10).map((status) => status.lastSequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 11));
    expect((await client.publish(storeId, "s", "g", bytes("next"))).lastSequence).toBe(21);
    const payloads = (await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }))).map((entry) => text(entry.payload));
    expect(payloads).not.toContain("aborted");
  });
});

describe("publish lane streams", () => {
  it("carries the concurrent publishes of each store on one stream, ended once idle", async () => {
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    const inner = createInProcProvider(manager);
    const opened: string[] = [];
    const counting: Provider = {
      open: (storeId, first) => {
        opened.push(storeId);
        return inner.open(storeId, first);
      },
      get state() {
        return inner.state;
      },
      close: () => inner.close(),
    };
    const client = createClient(counting);
    try {
      const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
      await Promise.all([...publishMany(client, a, 100), ...publishMany(client, b, 100)]);
      expect(opened.sort()).toEqual([a, b].sort());
      // Idle lanes end: the server sees no open stream once the client's half-close arrived.
      await client.close();
      expect(manager.nodes().every((node) => node.openStreams === 0)).toBe(true);
    } finally {
      await client.close();
      await manager.close();
    }
  });
});

describe("publish lane idling", () => {
  it("keeps one stream for publishes made one at a time, and ends it once idle", async () => {
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    const inner = createInProcProvider(manager);
    let opened = 0;
    const counting: Provider = {
      open: (storeId, first) => {
        opened++;
        return inner.open(storeId, first);
      },
      get state() {
        return inner.state;
      },
      close: () => inner.close(),
    };
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = createClient(counting);
    try {
      const storeId = crypto.randomUUID();
      for (let i = 1; i <= 5; i++) expect((await client.publish(storeId, "s", "g", bytes(`${i}`))).lastSequence).toBe(i);
      expect(opened).toBe(1);
      expect(manager.nodes()[0]?.openStreams).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      await bounded(
        (async () => {
          while (manager.nodes()[0]?.openStreams !== 0) await new Promise((resolve) => setImmediate(resolve));
        })(),
        "the idle lane to end",
      );
      // The next publish opens a new lane.
      expect((await client.publish(storeId, "s", "g", bytes("6"))).lastSequence).toBe(6);
      expect(opened).toBe(2);
    } finally {
      vi.useRealTimers();
      await client.close();
      await manager.close();
    }
  });
});

describe("publish lane idling across stores", () => {
  it("keeps at most 8 idle lanes open, ending the one idle longest", async () => {
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    const client = createClient(createInProcProvider(manager));
    try {
      const stores = Array.from({ length: 12 }, () => crypto.randomUUID());
      for (const storeId of stores) await client.publish(storeId, "s", "g", bytes("x"));
      const open = () => stores.filter((storeId) => (manager.nodes().find((node) => node.storeId === storeId)?.openStreams ?? 0) > 0);
      await bounded(
        (async () => {
          while (open().length > 8) await new Promise((resolve) => setImmediate(resolve));
        })(),
        () => `at most 8 open lanes, got ${open().length}`,
      );
      expect(open()).toEqual(stores.slice(4));
    } finally {
      await client.close();
      await manager.close();
    }
  });
});

describe("publish lane metrics", () => {
  it("count each committed publish of a lane once, and none that failed", async () => {
    const activity = new ServerActivity();
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false, observer: activity });
    const client = createClient(createInProcProvider(manager));
    try {
      const storeId = crypto.randomUUID();
      const valid = publishMany(client, storeId, 30);
      const failures = [
        failureOf(() => client.publish(storeId, "*", "g", bytes("bad name"))),
        failureOf(() => client.publish(storeId, "s", "g", new Uint8Array(6 * MiB + 1))),
      ];
      const more = publishMany(client, storeId, 5, "h");
      await Promise.all([...valid, ...more, ...failures]);
      const bytesOf = (count: number) => Array.from({ length: count }, (_, i) => `p${i}`.length).reduce((sum, size) => sum + size, 0);
      expect(activity.snapshot()).toMatchObject({ entriesProduced: 35, bytesProduced: bytesOf(30) + bytesOf(5) });
    } finally {
      await client.close();
      await manager.close();
    }
  });
});

describe("publish lane over a WebSocket connection", () => {
  const SECRET = "publish-lane-secret-long-enough-for-hs256!";
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startServer(): Promise<{ url: string; sockets: Socket[] }> {
    const http: Server = createServer((_request, response) => response.writeHead(404).end());
    const sockets: Socket[] = [];
    http.on("connection", (socket: Socket) => sockets.push(socket));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: SECRET }) });
    cleanups.push(async () => {
      await streamz.close();
      await manager.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, sockets };
  }

  function connect(url: string, scope: string): StreamsClient {
    const token = () => signToken({ secret: SECRET, scopes: [scope], subject: "lane", ttlSec: 3600 });
    const client = createClient(createWsProvider(url, { token, retry: { initialDelayMs: 1, jitter: 0 } }));
    cleanups.push(() => client.close());
    return client;
  }

  it("rejects every pending publish with unavailable when the connection drops, and never retries them", async () => {
    const server = await startServer();
    const client = connect(server.url, "streamkit::*");
    const storeId = crypto.randomUUID();
    expect((await client.publish(storeId, "s", "g", bytes("first"))).lastSequence).toBe(1);
    const pending = publishMany(client, storeId, 50).map((call) => failureOf(() => call));
    server.sockets[0]!.destroy();
    const failures = await Promise.all(pending);
    expect(failures.every((error) => error instanceof StreamsError && error.kind === "unavailable")).toBe(true);
    // The next call reconnects; nothing cut was committed.
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(1);
    expect((await client.publish(storeId, "s", "g", bytes("again"))).lastSequence).toBe(2);
  });

  it("fails every publish of a lane with permission_denied on a store the token may only read", async () => {
    const server = await startServer();
    const storeId = crypto.randomUUID();
    const client = connect(server.url, `streamkit::${storeId}:read`);
    const failures = await Promise.all(publishMany(client, storeId, 20).map((call) => failureOf(() => call)));
    expect(failures.map((error) => (error as StreamsError).kind)).toEqual(Array.from({ length: 20 }, () => "permission_denied"));
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(0);
  });
});
