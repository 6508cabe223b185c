import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { attachStreamz, createWsProvider } from "../../transport/ws/index.js";
import { bytes, collect, failureOf, text } from "../support/data.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded } from "../support/waits.js";
import { listen } from "../support/ws-raw-client.js";

// Issue 11, item 6: a publish that rejected with `cancelled` was never sent; one that may have been
// sent says so (deadline_exceeded, details.outcome "unknown"). Over a real WebSocket, the server
// made unreachable by a TCP proxy or its store held shut so a publish waits on the server.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real /streamz server on memory stores; `factory` wraps the store factory. */
async function startServer(factory = (inner: StoreFactory): StoreFactory => inner) {
  const http = await listen();
  const manager = createNodeManager({ storeFactory: factory(createMemoryStoreFactory()), idleEviction: false });
  const streamz = attachStreamz(http.server, { manager });
  cleanups.push(async () => {
    await streamz.close();
    await manager.close();
    await http.close();
  });
  return { port: (http.server.address() as AddressInfo).port };
}

function wsClient(url: string): StreamsClient {
  const client = createClient(createWsProvider(url, { retry: { initialDelayMs: 10, maxDelayMs: 50 } }));
  cleanups.push(() => client.close());
  return client;
}

/** Lets the client's microtasks and I/O callbacks run, so what was published has reached its transport. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const payloadsOf = async (client: StreamsClient, storeId: string): Promise<string[]> =>
  (await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }))).map((entry) => text(entry.payload));

describe("a cancelled publish is never sent later", () => {
  it("takes back publishes aborted while the server is unreachable; the others are stored once it is back", async () => {
    const { port } = await startServer();
    const proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    cleanups.push(() => proxy[Symbol.asyncDispose]());
    proxy.cut();
    const client = wsClient(`ws://127.0.0.1:${proxy.port}/streamz`);
    const [one, two] = [crypto.randomUUID(), crypto.randomUUID()];
    const aborts = [new AbortController(), new AbortController(), new AbortController(), new AbortController()];
    const reason = new Error("caller gave up");

    // Store one: the lane's open carries k1; x1 waits in the transport alone, x2 and k2 in one batch.
    const k1 = client.publish(one, "s", "g", bytes("k1"));
    await turn();
    const x1 = failureOf(() => client.publish(one, "s", "g", bytes("x1"), { signal: aborts[0]?.signal }));
    await turn();
    const x2 = failureOf(() => client.publish(one, "s", "g", bytes("x2"), { signal: aborts[1]?.signal }));
    const k2 = client.publish(one, "s", "g", bytes("k2"));
    await turn();
    // Store two: the aborted publish is the lane's open; k3 and x4, queued behind it, go on without it.
    const x3 = failureOf(() => client.publish(two, "s", "g", bytes("x3"), { signal: aborts[2]?.signal }));
    await turn();
    const k3 = client.publish(two, "s", "g", bytes("k3"));
    const x4 = failureOf(() => client.publish(two, "s", "g", bytes("x4"), { signal: aborts[3]?.signal }));
    await turn();

    for (const controller of aborts.slice(0, 3)) controller.abort(reason);
    for (const failure of [x1, x2, x3]) {
      const error = await failure;
      expect(error).toBeInstanceOf(StreamsError);
      expect(error).toMatchObject({ kind: "cancelled" });
      expect((error as StreamsError).cause).toBe(reason);
    }
    // Taken to a new lane, x4 is still abortable before it leaves.
    await turn();
    aborts[3]?.abort(reason);
    expect(await x4).toMatchObject({ kind: "cancelled" });

    proxy.restore();
    const [s1, s2, s3] = await bounded(Promise.all([k1, k2, k3]), "the kept publishes once the server is reachable");
    expect([s1.lastSequence, s2.lastSequence, s3.lastSequence]).toEqual([1, 2, 1]);
    expect(await payloadsOf(client, one)).toEqual(["k1", "k2"]);
    expect(await payloadsOf(client, two)).toEqual(["k3"]);
    // Nothing left behind in the transport: the next publish follows directly.
    expect((await client.publish(one, "s", "g", bytes("k4"))).lastSequence).toBe(3);
  });

  it("keeps the order of the other publishes when one aborted sits in a batch with later ones behind it", async () => {
    const { port } = await startServer();
    const proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    cleanups.push(() => proxy[Symbol.asyncDispose]());
    proxy.cut();
    const client = wsClient(`ws://127.0.0.1:${proxy.port}/streamz`);
    const storeId = crypto.randomUUID();
    const abort = new AbortController();

    // The open carries k1; x and k2 go as one batch; k3 waits behind it in the transport.
    const k1 = client.publish(storeId, "s", "g", bytes("k1"));
    await turn();
    const x = failureOf(() => client.publish(storeId, "s", "g", bytes("x"), { signal: abort.signal }));
    const k2 = client.publish(storeId, "s", "g", bytes("k2"));
    await turn();
    const k3 = client.publish(storeId, "s", "g", bytes("k3"));
    await turn();
    abort.abort(new Error("caller gave up"));
    expect(await x).toMatchObject({ kind: "cancelled" });

    proxy.restore();
    const statuses = await bounded(Promise.all([k1, k2, k3]), "the kept publishes once the server is reachable");
    expect(statuses.map((status) => status.lastSequence)).toEqual([1, 2, 3]);
    expect(await payloadsOf(client, storeId)).toEqual(["k1", "k2", "k3"]);
  });

  it("rejects a publish aborted after it went out with an outcome-unknown error, never cancelled", async () => {
    let reached: () => void = () => undefined;
    const atServer = new Promise<void>((resolve) => (reached = resolve));
    let openStore: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openStore = resolve));
    // The store opens only when the test lets it: the publish waits on the server, sent and unanswered.
    const { port } = await startServer((inner) => ({
      async open(storeId) {
        reached();
        await gate;
        return inner.open(storeId);
      },
    }));
    cleanups.push(async () => openStore()); // a failed assertion must not leave the server waiting on the gate
    const client = wsClient(`ws://127.0.0.1:${port}/streamz`);
    const storeId = crypto.randomUUID();
    const controller = new AbortController();
    const aborted = failureOf(() => client.publish(storeId, "s", "g", bytes("maybe"), { signal: controller.signal }));
    await bounded(atServer, "the publish reaching the server");
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await aborted;
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "deadline_exceeded", code: "transient", details: { outcome: "unknown" } });
    expect((error as StreamsError).cause).toBe(reason);

    // And indeed the server stores it: the outcome was unknown, not "not done".
    openStore();
    expect((await bounded(client.publish(storeId, "s", "g", bytes("next")), "the next publish")).lastSequence).toBe(2);
    expect(await payloadsOf(client, storeId)).toEqual(["maybe", "next"]);
  });

  it("never sends a produce given up (aborted, or past its deadline) while the server is unreachable", async () => {
    const { port } = await startServer();
    const proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    cleanups.push(() => proxy[Symbol.asyncDispose]());
    proxy.cut();
    const client = wsClient(`ws://127.0.0.1:${proxy.port}/streamz`);
    const storeId = crypto.randomUUID();
    const controller = new AbortController();
    const aborted = failureOf(() => client.produce(storeId, "s", "g", [{ sequence: 1, payload: bytes("x") }], { signal: controller.signal }));
    const timedOut = failureOf(() => client.produce(storeId, "s", "h", [{ sequence: 1, payload: bytes("y") }], { timeoutMs: 50 }));
    await turn();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await aborted;
    expect(error).toMatchObject({ kind: "cancelled" });
    expect((error as StreamsError).cause).toBe(reason);
    const expired = await timedOut;
    expect(expired).toMatchObject({ kind: "deadline_exceeded" });
    expect((expired as StreamsError).details).toBeUndefined();

    proxy.restore();
    // Neither batch went out later: the segments are still empty once the client is connected again.
    await bounded(client.publish(storeId, "s", "other", bytes("k")), "a publish once the server is reachable");
    expect(await payloadsOf(client, storeId)).toEqual([]);
    expect(await collect(client.consumeSegment(storeId, { space: "s", segment: "h" }))).toEqual([]);
  });
});
