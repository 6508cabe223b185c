import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameKinds, INITIAL_CREDIT, MessageTypes } from "../../pkg/api/internal/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { listen, RawClient, refusedUpgrade, type StreamzFixture, startStreamz } from "../../test/support/ws-raw-client.js";
import { attachStreamz } from "./index.js";

const STORE = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const SECRET = "ws-lifecycle-test-secret-long-enough-hs256";
const POLL = { timeout: 10_000, interval: 5 };

let fixture: StreamzFixture | undefined;
const clients: RawClient[] = [];

async function connect(options: Parameters<typeof RawClient.connect>[1] = {}): Promise<RawClient> {
  const client = await RawClient.connect(fixture!.url, options);
  clients.push(client);
  return client;
}

afterEach(async () => {
  vi.useRealTimers();
  for (const client of clients.splice(0)) if (!client.isClosed) client.socket.terminate();
  await fixture?.close();
  fixture = undefined;
});

const once = (client: RawClient, event: "ping") => new Promise<void>((resolve) => client.socket.once(event, () => resolve()));

/** A stream that completes on `client`: every frame the client sent before it has been processed. */
async function roundTrip(client: RawClient, channel: number): Promise<void> {
  client.open(channel, STORE, { $type: MessageTypes.getSpaces });
  expect((await client.ending(channel)).kind).toBe(FrameKinds.end);
}

describe("liveness", () => {
  it("drops a peer that misses two pongs and keeps one that answers", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    fixture = await startStreamz({ pingIntervalMs: 1_000 });
    const silent = await connect({ autoPong: false });
    const lively = await connect();
    for (let tick = 1; tick <= 2; tick++) {
      const pinged = Promise.all([once(silent, "ping"), once(lively, "ping")]);
      vi.advanceTimersByTime(1_000);
      await pinged;
      await roundTrip(lively, tick); // its pong was sent before this stream's frames, so the server has seen it
    }
    vi.advanceTimersByTime(1_000);
    expect((await silent.closed).code).toBe(1006);
    await roundTrip(lively, 3);
    expect(lively.isClosed).toBe(false);
    const [info] = fixture.streamz.connections();
    expect(info?.lastPongAt).toBeGreaterThanOrEqual(info!.openedAt);
  });
});

describe("close", () => {
  it("aborts streams, closes every connection with 1001 and refuses new upgrades", async () => {
    fixture = await startStreamz();
    const first = await connect();
    const second = await connect();
    const big = new Uint8Array(150 * 1024);
    first.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "g" });
    first.data(1, { $type: MessageTypes.recordBatch, records: Array.from({ length: INITIAL_CREDIT + 2 }, (_, i) => ({ sequence: i + 1, payload: big })) });
    await first.until(() => first.messages(1).length === 1, "the batch status");
    first.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" });
    await first.until(() => first.messages(2).length === INITIAL_CREDIT, "the credited entries");
    const node = await fixture.manager.getOrCreate(STORE);
    expect(node.openStreams).toBe(2);

    const closing = fixture.streamz.close();
    expect(fixture.streamz.close({ code: 4000, reason: "ignored" })).toBe(closing);
    await closing;
    expect(await first.closed).toEqual({ code: 1001, reason: "going away" });
    expect(await second.closed).toEqual({ code: 1001, reason: "going away" });
    // Streams end with the connection, not with an error frame: clients resume elsewhere.
    expect(first.on(2).some((frame) => frame.kind === FrameKinds.error)).toBe(false);
    await expect.poll(() => node.openStreams, POLL).toBe(0);
    expect(fixture.streamz.connections()).toEqual([]);
    const refusal = await refusedUpgrade(fixture.url);
    expect(refusal.status).toBe(503);
  });

  it("uses the given close code and cuts off a peer that never answers the close", async () => {
    fixture = await startStreamz({ closeTimeoutMs: 20 });
    const deaf = await connect();
    deaf.socket.pause();
    await fixture.streamz.close({ code: 4000, reason: "moving" });
    expect(fixture.streamz.connections()).toEqual([]);
    deaf.socket.resume();
    await deaf.closed;
  });

  it("validates the close code and is disposable", async () => {
    fixture = await startStreamz();
    expect(() => fixture!.streamz.close({ code: 1006 })).toThrow(TypeError);
    const client = await connect();
    await fixture.streamz[Symbol.asyncDispose]();
    expect((await client.closed).code).toBe(1001);
  });
});

describe("introspection", () => {
  it("lists connections with their subject, peer, streams and traffic", async () => {
    const authenticator = createJwtAuthenticator({ secrets: SECRET });
    fixture = await startStreamz({ authenticator });
    const token = await signToken({ secret: SECRET, scopes: ["streamkit::*"], ttlSec: 60, subject: "operator" });
    const client = await connect({ token, headers: { "user-agent": "lifecycle-test/1.0" } });
    client.open(7, STORE, { $type: MessageTypes.produce, space: "s", segment: "g" });
    client.data(7, { $type: MessageTypes.recordBatch, records: [{ sequence: 1, payload: new Uint8Array(10) }] });
    await client.until(() => client.messages(7).length === 1, "the status");
    const [info] = fixture.streamz.connections();
    expect(info).toMatchObject({
      remoteAddress: "127.0.0.1",
      userAgent: "lifecycle-test/1.0",
      subject: "operator",
      streams: [{ channel: 7, storeId: STORE, access: "write", waitingFor: undefined }],
    });
    expect(info!.id).toEqual(expect.any(String));
    expect(info!.openedAt).toBeLessThanOrEqual(Date.now());
    expect(info!.bytesIn).toBeGreaterThan(0);
    expect(info!.bytesOut).toBeGreaterThan(0);
  });
});

describe("options", () => {
  it("validates options with TypeErrors", async () => {
    const http = await listen();
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    try {
      expect(() => attachStreamz(http.server, {} as never)).toThrow(/manager/);
      expect(() => attachStreamz(http.server, { manager, path: "streamz" })).toThrow(/path/);
      expect(() => attachStreamz(http.server, { manager, maxFrameBytes: 0 })).toThrow(/maxFrameBytes/);
      expect(() => attachStreamz(http.server, { manager, pingIntervalMs: 1.5 })).toThrow(/pingIntervalMs/);
      expect(() => attachStreamz(http.server, { manager, authenticator: {} as never })).toThrow(/authenticator/);
    } finally {
      await manager.close();
      await http.close();
    }
  });

  it("serves on a custom path, and without an authenticator answers refreshes with ok", async () => {
    fixture = await startStreamz({ path: "/custom" });
    fixture.url = fixture.url.replace("/streamz", "/custom");
    const client = await connect();
    client.send({ kind: FrameKinds.refresh, channel: 0, token: "anything" });
    await client.until(() => client.received.some((frame) => frame.kind === FrameKinds.refreshed), "refreshed");
    expect(client.received.find((frame) => frame.kind === FrameKinds.refreshed)).toMatchObject({ ok: true });
  });
});
