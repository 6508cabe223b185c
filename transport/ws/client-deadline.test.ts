import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { collect, failureOf } from "../../test/support/data.js";
import { TcpProxy } from "../../test/support/tcp-proxy.js";
import { bounded } from "../../test/support/waits.js";
import { listen } from "../../test/support/ws-raw-client.js";
import { attachStreamz, createWsProvider, type WsProviderOptions } from "./index.js";

// Issue 11, item 7: a call to a server that cannot be reached settles by itself (connectDeadlineMs,
// default 30 s) with `unavailable`, nothing sent. A real server behind a TCP proxy that refuses
// every connection; faked timers stand in for the wait.

const STORE = "5b1e0c52-6a2f-4d7e-8c11-3f4a5b6c7d80";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real server on memory stores behind a proxy that is cut: dials reach nothing until restore(). */
async function unreachableServer() {
  const http = await listen();
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
  const streamz = attachStreamz(http.server, { manager });
  const proxy = await TcpProxy.start({ host: "127.0.0.1", port: (http.server.address() as AddressInfo).port });
  proxy.cut();
  cleanups.push(async () => {
    await proxy[Symbol.asyncDispose]();
    await streamz.close();
    await manager.close();
    await http.close();
  });
  return { proxy, url: `ws://127.0.0.1:${proxy.port}/streamz` };
}

function client(url: string, options: WsProviderOptions = {}): StreamsClient {
  const created = createClient(createWsProvider(url, options));
  cleanups.push(() => created.close());
  return created;
}

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe("connectDeadlineMs", () => {
  it("fails a publish to an unreachable server with unavailable after 30 s by default, and sends nothing", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { proxy, url } = await unreachableServer();
    const sdk = client(url);
    const publish = failureOf(() => sdk.publish(STORE, "s", "g", new Uint8Array([1])));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(await settled(publish)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await publish;
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "unavailable", code: "transient", details: { connectDeadlineMs: 30_000 } });

    // Another client, on real timers (the first one's backoff waits on a faked timer), finds nothing stored.
    vi.useRealTimers();
    proxy.restore();
    const other = client(url);
    expect((await bounded(other.publish(STORE, "s", "g", new Uint8Array([2])), "a publish once the server is reachable")).lastSequence).toBe(1);
    expect((await collect(other.consumeSegment(STORE, { space: "s", segment: "g" }))).map((entry) => entry.payload[0])).toEqual([2]);
  });

  it("takes its value from the option, and Infinity waits until the call is aborted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { url } = await unreachableServer();
    const short = failureOf(() => client(url, { connectDeadlineMs: 500 }).peek(STORE, "s", "g"));
    await vi.advanceTimersByTimeAsync(500);
    expect(await short).toMatchObject({ kind: "unavailable", details: { connectDeadlineMs: 500 } });

    const controller = new AbortController();
    const patient = failureOf(() => client(url, { connectDeadlineMs: Number.POSITIVE_INFINITY }).publish(STORE, "s", "g", new Uint8Array([1]), { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(await settled(patient)).toBe(false);
    controller.abort();
    expect(await patient).toMatchObject({ kind: "cancelled" });
  });

  it("refuses a value that is not a positive integer or Infinity", () => {
    for (const connectDeadlineMs of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => createWsProvider("ws://127.0.0.1:1", { connectDeadlineMs })).toThrow(TypeError);
    }
  });
});
