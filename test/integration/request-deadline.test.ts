import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { attachStreamz, createWsProvider } from "../../transport/ws/index.js";
import { bytes, collect, failureOf, records, text } from "../support/data.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded } from "../support/waits.js";
import { listen } from "../support/ws-raw-client.js";

// Issue 11: a request whose answer never comes fails with `deadline_exceeded` once its `timeoutMs`
// has passed, instead of hanging, and lets go of its streams. A real /streamz server behind a TCP
// proxy that stops passing the server's bytes on: requests arrive and are done, answers never come.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer() {
  const http = await listen();
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
  const streamz = attachStreamz(http.server, { manager });
  cleanups.push(async () => {
    await streamz.close();
    await manager.close();
    await http.close();
  });
  return { manager, port: (http.server.address() as AddressInfo).port };
}

function wsClient(port: number): StreamsClient {
  const client = createClient(createWsProvider(`ws://127.0.0.1:${port}/streamz`, { retry: { initialDelayMs: 10, maxDelayMs: 50 } }));
  cleanups.push(() => client.close());
  return client;
}

/** Waits (bounded, polling between I/O turns) until `check` resolves true. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const poll = async () => {
    while (!(await check())) await new Promise((resolve) => setImmediate(resolve));
  };
  await bounded(poll(), what);
}

const outcomeUnknown = { kind: "deadline_exceeded", code: "transient", details: { outcome: "unknown" } };

describe("per-request deadlines over a real WebSocket", () => {
  it("fails requests whose answers never come with deadline_exceeded, and releases their streams", async () => {
    const { manager, port } = await startServer();
    const proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    cleanups.push(() => proxy[Symbol.asyncDispose]());
    const client = wsClient(proxy.port);
    const direct = wsClient(port);
    const storeId = crypto.randomUUID();
    expect((await client.publish(storeId, "s", "p", bytes("before"))).lastSequence).toBe(1);

    proxy.holdReplies();
    const [published, produced, peeked] = await Promise.all([
      failureOf(() => client.publish(storeId, "s", "p", bytes("unanswered"), { timeoutMs: 200 })),
      failureOf(() => client.produce(storeId, "s", "q", records(1, 3), { timeoutMs: 200 })),
      failureOf(() => client.peek(storeId, "s", "p", { timeoutMs: 200 })),
    ]);
    expect(published).toBeInstanceOf(StreamsError);
    expect(published).toMatchObject(outcomeUnknown);
    expect(produced).toMatchObject(outcomeUnknown);
    expect(peeked).toMatchObject({ kind: "deadline_exceeded" });
    expect((peeked as StreamsError).details).toBeUndefined();

    // The writes did reach the server: "unknown" was the honest answer.
    const payloads = async (segment: string) => (await collect(direct.consumeSegment(storeId, { space: "s", segment }))).map((entry) => text(entry.payload));
    await until(async () => (await payloads("p")).length === 2 && (await payloads("q")).length === 3, "the publish and the produce stored");
    expect(await payloads("p")).toEqual(["before", "unanswered"]);

    // Every stream of the client is let go: the lane whose publish timed out is retired and cancelled.
    const node = await manager.getOrCreate(storeId);
    await until(async () => node.openStreams === 0, "the server to see the client's streams end");

    // Once the connection is back, the client works on a new lane.
    proxy.cut();
    proxy.restore();
    await until(async () => client.state.reconnects > 0 && client.state.status === "connected", "the client to reconnect");
    expect((await bounded(client.publish(storeId, "s", "p", bytes("after")), "a publish after reconnecting")).lastSequence).toBe(3);
  });
});
