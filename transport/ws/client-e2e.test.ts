import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import {
  decodeAny,
  encodeMessage,
  type Entry,
  MessageTypes,
  type Record,
  type SegmentStatus,
  StreamsError,
} from "../../pkg/api/internal/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createNodeManager, type Logger } from "../../pkg/server/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { attachStreamz, createWsProvider, type WsProvider, type WsProviderOptions } from "./index.js";

const STORE_A = "8d0f5a2e-3b1c-4e7a-9f60-1c2d3e4f5a01";
const STORE_B = "8d0f5a2e-3b1c-4e7a-9f60-1c2d3e4f5a02";
const SECRET = "client-e2e-secret-long-enough-for-hs256!";
const encoder = new TextEncoder();
const payload = (text: string) => encoder.encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

// Captured before any test fakes timers, so every wait stays bounded in real time.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Bounded wait for `probe` to hold; re-checked whenever `emitter` emits "change". */
function until<T>(emitter: EventEmitter, probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const now = probe();
  if (now !== undefined && now !== false) return Promise.resolve(now);
  return new Promise<T>((resolve, reject) => {
    const timer = realSetTimeout(() => {
      emitter.off("change", check);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    function check() {
      const value = probe();
      if (value === undefined || value === false) return;
      realClearTimeout(timer);
      emitter.off("change", check);
      resolve(value);
    }
    emitter.on("change", check);
  });
}

/** A real Streamkit server: NodeManager over memory stores, JWT auth, /streamz on an HTTP server on 127.0.0.1. */
interface RealServer {
  url: string;
  port: number;
  /** The TCP sockets accepted so far, in order (to cut a client off). */
  sockets: Socket[];
  connectionCount(): number;
  /** Closes like a shutdown: every client gets 1001 going away. */
  close(): Promise<void>;
}

async function startServer(options: { storeFactory?: StoreFactory; port?: number } = {}): Promise<RealServer> {
  const http: Server = createServer((_request, response) => response.writeHead(404).end());
  const sockets: Socket[] = [];
  http.on("connection", (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, "127.0.0.1", resolve));
  const manager = createNodeManager({ storeFactory: options.storeFactory ?? createMemoryStoreFactory(), idleEviction: false });
  const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: SECRET }) });
  const { port } = http.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const server: RealServer = {
    url: `ws://127.0.0.1:${port}`,
    port,
    sockets,
    connectionCount: () => streamz.connections().length,
    close: () =>
      (closing ??= (async () => {
        await streamz.close();
        await manager.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })()),
  };
  cleanups.push(() => server.close());
  return server;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const tokenFor = (scopes: string[], ttlSec = 3600) => signToken({ secret: SECRET, scopes, ttlSec, subject: "e2e" });

function connect(server: RealServer, options: WsProviderOptions = {}): { provider: WsProvider; client: StreamsClient } {
  const provider = createWsProvider(server.url, { token: () => tokenFor(["streamkit::*"]), ...options });
  const client = createClient(provider);
  cleanups.push(() => client.close());
  return { provider, client };
}

const records = (from: number, count: number): Record[] =>
  Array.from({ length: count }, (_, i) => ({ sequence: from + i, payload: payload(`r${from + i}`) }));

async function collect(iterable: AsyncIterable<Entry>): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

/** A produce stream opened on the provider itself, so each batch's status is seen as it commits. */
function produceStream(provider: WsProvider, storeId: string, space: string, segment: string) {
  const stream = provider.open(storeId, encodeMessage({ $type: MessageTypes.produce, space, segment }));
  return {
    stream,
    async commit(batch: Record[]): Promise<SegmentStatus> {
      await stream.send(encodeMessage({ $type: MessageTypes.recordBatch, records: batch }));
      const reply = await stream.receive();
      if (reply === undefined) throw new Error("produce stream ended");
      const status = decodeAny(reply) as SegmentStatus & { $type: string };
      expect(status.$type).toBe(MessageTypes.segmentStatus);
      return status;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<StreamsError> {
  const error: unknown = await promise.then(
    () => new Error("expected a rejection"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StreamsError);
  return error as StreamsError;
}

describe("ws client provider end to end (real server, real SDK)", () => {
  it("carries produce, concurrent consumes and peeks over one connection", async () => {
    const server = await startServer();
    const { client } = connect(server);
    const statuses = await client.produce(STORE_A, "orders", "o-1", records(1, 1_000), { batchSize: 100 });
    expect(statuses).toHaveLength(10);
    expect(statuses.at(-1)!.lastSequence).toBe(1_000);

    const reads = await Promise.all(
      Array.from({ length: 20 }, (_, i) => collect(client.consumeSegment(STORE_A, { space: "orders", segment: "o-1", minSequence: i * 50 + 1 }))),
    );
    reads.forEach((entries, i) => {
      expect(entries).toHaveLength(1_000 - i * 50);
      expect(entries[0]!.sequence).toBe(i * 50 + 1);
      expect(decode(entries.at(-1)!.payload)).toBe("r1000");
    });
    const [peeked, spaces] = await Promise.all([client.peek(STORE_A, "orders", "o-1"), client.getSpaces(STORE_A)]);
    expect(peeked.sequence).toBe(1_000);
    expect(spaces).toEqual(["orders"]);
    expect(server.connectionCount()).toBe(1);
    expect(client.state).toMatchObject({ status: "connected", reconnects: 0 });
  });

  it("a store outside the token's scopes is permission_denied on that stream only", async () => {
    const server = await startServer();
    const { client } = connect(server, { token: () => tokenFor([`streamkit::${STORE_A}`]) });
    const denied = await rejection(client.publish(STORE_B, "s", "g", payload("x")));
    expect(denied.kind).toBe("permission_denied");
    expect((await client.publish(STORE_A, "s", "g", payload("x"))).lastSequence).toBe(1);
    expect(server.connectionCount()).toBe(1);
    expect(client.state.reconnects).toBe(0);
  });

  it("a token the server refuses is unauthenticated, reported once, and not retried", async () => {
    const server = await startServer();
    const failures: [string, number][] = [];
    const { client } = connect(server, {
      token: () => signToken({ secret: "some-other-secret-that-is-long-enough", scopes: ["streamkit::*"], ttlSec: 60 }),
      retry: { initialDelayMs: 0, jitter: 0 },
      onDialFailure: (error, attempt) => failures.push([error.kind, attempt]),
    });
    const error = await rejection(client.peek(STORE_A, "s", "g"));
    expect([error.kind, error.code]).toEqual(["unauthenticated", "permanent"]);
    expect(error.message).toContain("invalid signature");
    // With no delay between attempts, a retrying provider would have dialed again before this second call.
    expect((await rejection(client.getSpaces(STORE_A))).kind).toBe("unauthenticated");
    expect(failures).toEqual([
      ["unauthenticated", 1],
      ["unauthenticated", 1],
    ]);
    expect(server.sockets).toHaveLength(2);
  });

  it("works with a browser-like WebSocket carrying the token as a subprotocol", async () => {
    class BrowserLikeWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[], ...rest: unknown[]) {
        if (rest.length > 0) throw new TypeError("a browser WebSocket takes no options");
        super(url, protocols);
      }
    }
    const server = await startServer();
    const { client } = connect(server, { token: () => tokenFor([`streamkit::${STORE_A}`]), WebSocket: BrowserLikeWebSocket });
    await client.produce(STORE_A, "s", "g", records(1, 3));
    const entries = await collect(client.consumeSegment(STORE_A, { space: "s", segment: "g" }));
    expect(entries.map((entry) => decode(entry.payload))).toEqual(["r1", "r2", "r3"]);
    expect((await rejection(client.peek(STORE_B, "s", "g"))).kind).toBe("permission_denied");
  });

  it("a connection cut mid-produce fails the produce with unavailable and never half-writes; the next call reconnects", async () => {
    const server = await startServer();
    let tokens = 0;
    const { provider, client } = connect(server, {
      token: () => {
        tokens++;
        return tokenFor(["streamkit::*"]);
      },
      retry: { initialDelayMs: 1, jitter: 0 },
    });
    const producer = produceStream(provider, STORE_A, "s", "g");
    expect((await producer.commit(records(1, 100))).lastSequence).toBe(100);

    server.sockets[0]!.destroy(); // cut the connection between two batches
    const error = await rejection(producer.commit(records(101, 100)));
    expect([error.kind, error.code]).toEqual(["unavailable", "transient"]);

    // The SDK's produce over the next connection starts where peek says, and the cut batch was never applied.
    const head = await client.peek(STORE_A, "s", "g");
    expect(head.sequence).toBe(100);
    const statuses = await client.produce(STORE_A, "s", "g", records(head.sequence + 1, 100));
    expect(statuses.at(-1)!.lastSequence).toBe(200);
    const entries = await collect(client.consumeSegment(STORE_A, { space: "s", segment: "g" }));
    expect(entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(client.state).toMatchObject({ status: "connected", reconnects: 1 });
    expect(tokens).toBe(2);
  });

  it("survives a server restart: going away, failed dials while down, then reconnected with data intact", async () => {
    const storeFactory = createMemoryStoreFactory();
    const first = await startServer({ storeFactory });
    const dialFailures = new EventEmitter();
    const failures: StreamsError[] = [];
    const { provider, client } = connect(first, {
      retry: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 },
      onDialFailure: (error) => {
        failures.push(error);
        dialFailures.emit("change");
      },
    });
    const producer = produceStream(provider, STORE_A, "s", "g");
    await producer.commit(records(1, 10));
    const cut = rejection(producer.stream.receive());

    await first.close();
    const error = await cut;
    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("1001");
    await until(dialFailures, () => failures.length >= 2, "failed dials while the server is down");
    expect(failures.every((failure) => failure.kind === "unavailable")).toBe(true);
    expect(provider.state.status).toBe("reconnecting");

    await startServer({ storeFactory, port: first.port });
    const head = await client.peek(STORE_A, "s", "g");
    expect(head.sequence).toBe(10);
    expect(provider.state).toMatchObject({ status: "connected", reconnects: 1 });
  });
});

describe("in-band token refresh against the real server", () => {
  it("a long-lived stream survives three refreshes, past every replaced token's expiry, with no entry lost", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const server = await startServer();
    const refreshed = new EventEmitter();
    let refreshes = 0;
    const logger: Logger = {
      debug: (_object, message) => {
        if (message === "token refreshed") {
          refreshes++;
          refreshed.emit("change");
        }
      },
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    let issued = 0;
    const { provider, client } = connect(server, {
      logger,
      token: () => {
        issued++;
        return tokenFor([`streamkit::${STORE_A}`], 60);
      },
    });

    const producer = produceStream(provider, STORE_A, "s", "g");
    expect((await producer.commit(records(1, 1))).lastSequence).toBe(1);
    // A long consume on the same connection: a follow that must see every entry through every refresh.
    const consume = client.consumeSegment(STORE_A, { space: "s", segment: "g", follow: true });
    const following = consume[Symbol.asyncIterator]();
    const nextPayload = async (): Promise<string> => {
      const next = await following.next();
      if (next.done === true) throw new Error("the follow ended");
      return decode(next.value.payload);
    };
    expect(await nextPayload()).toBe("r1");
    // Tokens live 60 s and are refreshed at 48 s of each one's life.
    for (let refresh = 1; refresh <= 3; refresh++) {
      await vi.advanceTimersByTimeAsync(48_000);
      await until(refreshed, () => refreshes === refresh, `refresh ${refresh}`);
      expect((await producer.commit(records(refresh + 1, 1))).lastSequence).toBe(refresh + 1);
      expect(await nextPayload()).toBe(`r${refresh + 1}`);
    }
    // Now at 144 s: the third token (issued at 96 s) expired at 156 s; go past it and its tolerance.
    await vi.advanceTimersByTimeAsync(26_000);
    expect((await producer.commit(records(5, 1))).lastSequence).toBe(5);
    expect(await nextPayload()).toBe("r5");
    // The consume never had to resume: the connection and its streams lived through every refresh.
    expect(consume.state.reconnects).toBe(0);
    await following.return?.();
    producer.stream.end();
    expect(await producer.stream.receive()).toBeUndefined();

    const entries = await collect(client.consumeSegment(STORE_A, { space: "s", segment: "g" }));
    expect(entries.map((entry) => decode(entry.payload))).toEqual(["r1", "r2", "r3", "r4", "r5"]);
    expect(issued).toBe(4);
    expect(client.state).toMatchObject({ status: "connected", reconnects: 0 });
    expect(server.connectionCount()).toBe(1);
  });

  it("a connection whose refreshes all fail is closed at expiry, and the provider reconnects with a fresh token", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const server = await startServer();
    let issued = 0;
    let refuseRefreshes = true;
    const { provider, client } = connect(server, {
      token: () => {
        issued++;
        // The dial's token is good; while refuseRefreshes holds, every later one is refused by the server.
        return refuseRefreshes && issued > 1 ? "not-a-jwt" : tokenFor([`streamkit::${STORE_A}`], 60);
      },
      retry: { initialDelayMs: 1, jitter: 0 },
    });
    const producer = produceStream(provider, STORE_A, "s", "g");
    await producer.commit(records(1, 1));
    const cut = rejection(producer.stream.receive());
    await vi.advanceTimersByTimeAsync(70_000);
    const error = await cut;
    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("token expired");
    expect(issued).toBeGreaterThan(2); // the dial's token, then a refresh and its retries
    refuseRefreshes = false;
    const peeked = client.peek(STORE_A, "s", "g");
    await vi.advanceTimersByTimeAsync(1); // the redial's backoff
    expect((await peeked).sequence).toBe(1);
    expect(client.state.reconnects).toBe(1);
  });
});
