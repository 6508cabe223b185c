import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { decodeFrame, encodeFrame, type Frame, FrameKinds, INITIAL_CREDIT, StreamsError } from "../../pkg/api/internal/index.js";
import { createWsProvider, type WsProvider, type WsProviderOptions } from "./index.js";

const STORE = "00000000-0000-4000-8000-000000000001";
const text = new TextEncoder();
const bytes = (value: string) => text.encode(value);
const str = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));

// Captured before any test fakes timers, so every wait stays bounded in real time.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Bounded wait for a condition that changes when `emitter` emits "change". */
function until<T>(emitter: EventEmitter, probe: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
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

/** One channel as the fake server sees it. */
interface FakeChannel {
  id: number;
  storeId: string;
  /** The open message, then each data message, as received. */
  received: string[];
  ended: boolean;
  cancelled: boolean;
  /** Data frames the server may still send (the client's grants). */
  credit: number;
  /** Data frames the server sent. */
  sent: number;
  outbox: Uint8Array[];
  endAfterOutbox: boolean;
}

interface UpgradeRecord {
  authorization: string | undefined;
  protocols: string[];
}

/**
 * A fake Streamkit WebSocket server speaking the frame protocol: every channel echoes what it receives
 * (the open message, then each data message) and ends after the client ends. It respects the client's
 * credit, grants credit back per frame unless `grantCredit` is off, and answers refresh frames.
 */
class FakeConnection extends EventEmitter {
  readonly frames: Frame[] = [];
  readonly channels = new Map<number, FakeChannel>();
  readonly refreshTokens: string[] = [];
  grantCredit = true;
  echo = true;
  refreshAnswer: (token: string) => Frame = () => ({ kind: FrameKinds.refreshed, channel: 0, ok: true });
  closed: { code: number; reason: string } | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly upgrade: UpgradeRecord,
    private readonly server: FakeServer,
  ) {
    super();
    socket.on("message", (data: Buffer) => this.#onFrame(decodeFrame(new Uint8Array(data))));
    socket.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#changed();
    });
  }

  channel(id: number): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`no channel ${id}`);
    return channel;
  }

  send(frame: Frame): void {
    this.socket.send(encodeFrame(frame));
  }

  /** Sends a data frame on the channel when the client's credit allows, else queues it. */
  push(id: number, message: Uint8Array): void {
    const channel = this.channel(id);
    channel.outbox.push(message);
    this.#flush(channel);
  }

  #flush(channel: FakeChannel): void {
    while (channel.credit > 0 && channel.outbox.length > 0 && !channel.cancelled) {
      channel.credit--;
      channel.sent++;
      this.send({ kind: FrameKinds.data, channel: channel.id, message: channel.outbox.shift()! });
    }
    if (channel.endAfterOutbox && channel.outbox.length === 0) {
      channel.endAfterOutbox = false;
      this.send({ kind: FrameKinds.end, channel: channel.id });
    }
    this.#changed();
  }

  #onFrame(frame: Frame): void {
    this.frames.push(frame);
    switch (frame.kind) {
      case FrameKinds.open: {
        const channel: FakeChannel = {
          id: frame.channel,
          storeId: frame.storeId,
          received: [str(frame.message)!],
          ended: false,
          cancelled: false,
          credit: INITIAL_CREDIT,
          sent: 0,
          outbox: [],
          endAfterOutbox: false,
        };
        this.channels.set(frame.channel, channel);
        if (this.echo) this.push(frame.channel, frame.message);
        break;
      }
      case FrameKinds.data: {
        const channel = this.channel(frame.channel);
        channel.received.push(str(frame.message)!);
        if (this.grantCredit) this.send({ kind: FrameKinds.credit, channel: frame.channel, credit: 1 });
        if (this.echo) this.push(frame.channel, frame.message);
        break;
      }
      case FrameKinds.end: {
        const channel = this.channel(frame.channel);
        channel.ended = true;
        if (this.echo) {
          channel.endAfterOutbox = true;
          this.#flush(channel);
        }
        break;
      }
      case FrameKinds.cancel:
        this.channel(frame.channel).cancelled = true;
        break;
      case FrameKinds.credit: {
        const channel = this.channel(frame.channel);
        channel.credit += frame.credit;
        this.#flush(channel);
        break;
      }
      case FrameKinds.refresh:
        this.refreshTokens.push(frame.token);
        this.send(this.refreshAnswer(frame.token));
        break;
      default:
        throw new Error(`unexpected frame from the client: ${frame.kind}`);
    }
    this.#changed();
  }

  #changed(): void {
    this.emit("change");
    this.server.emit("change");
  }
}

type UpgradeVerdict = { status: number; reason: string } | "accept" | "hang";

class FakeServer extends EventEmitter {
  readonly http: Server = createServer();
  readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has("streamkit.v1") ? "streamkit.v1" : false),
  });
  readonly upgrades: UpgradeRecord[] = [];
  readonly connections: FakeConnection[] = [];
  readonly #hanging: Socket[] = [];
  /** Decides each upgrade: accept, refuse with an HTTP status, or never answer. */
  verdict: (upgrade: UpgradeRecord) => UpgradeVerdict = () => "accept";

  async start(): Promise<this> {
    this.http.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
      const upgrade: UpgradeRecord = {
        authorization: request.headers.authorization,
        protocols: (request.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim()).filter(Boolean),
      };
      this.upgrades.push(upgrade);
      const verdict = this.verdict(upgrade);
      this.emit("change");
      if (verdict === "hang") {
        this.#hanging.push(socket);
        return;
      }
      if (verdict !== "accept") {
        socket.end(`HTTP/1.1 ${verdict.status} Refused\r\nConnection: close\r\nContent-Length: ${verdict.reason.length}\r\n\r\n${verdict.reason}`);
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.connections.push(new FakeConnection(ws, upgrade, this));
        this.emit("change");
      });
    });
    await new Promise<void>((resolve) => this.http.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  connection(index: number): Promise<FakeConnection> {
    return until(this, () => this.connections[index], `connection #${index}`);
  }

  /** The channel once its open frame has arrived on connection `index`. */
  async opened(index: number, channel: number): Promise<{ connection: FakeConnection; channel: FakeChannel }> {
    const connection = await this.connection(index);
    return until(connection, () => connection.channels.get(channel) && { connection, channel: connection.channel(channel) }, `channel ${channel}`);
  }

  async stop(): Promise<void> {
    for (const socket of this.#hanging) socket.destroy();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeServer(): Promise<FakeServer> {
  const server = await new FakeServer().start();
  cleanups.push(() => server.stop());
  return server;
}

function provider(server: FakeServer, options: WsProviderOptions = {}): WsProvider {
  const created = createWsProvider(server.url, options);
  cleanups.push(() => created.close());
  return created;
}

async function receiveAll(stream: { receive(): Promise<Uint8Array | undefined> }): Promise<string[]> {
  const out: string[] = [];
  for (let message = await stream.receive(); message !== undefined; message = await stream.receive()) out.push(str(message)!);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<StreamsError> {
  const error: unknown = await promise.then(
    () => new Error("expected a rejection"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StreamsError);
  return error as StreamsError;
}

const secret = new TextEncoder().encode("a-test-secret-of-at-least-32-bytes!!");
async function jwt(subject: string, iatSeconds: number, expSeconds: number): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(subject).setIssuedAt(iatSeconds).setExpirationTime(expSeconds).sign(secret);
}

describe("ws client provider against a fake server", () => {
  it("multiplexes many streams over one lazily dialed connection", async () => {
    const server = await fakeServer();
    const client = provider(server);
    expect(server.upgrades).toHaveLength(0);
    const streams = Array.from({ length: 50 }, (_, i) => client.open(STORE, bytes(`open-${i}`)));
    const results = await Promise.all(
      streams.map(async (stream, i) => {
        await stream.send(bytes(`a-${i}`));
        await stream.send(bytes(`b-${i}`));
        stream.end();
        return receiveAll(stream);
      }),
    );
    results.forEach((messages, i) => expect(messages).toEqual([`open-${i}`, `a-${i}`, `b-${i}`]));
    expect(server.connections).toHaveLength(1);
    const connection = server.connections[0]!;
    expect([...connection.channels.values()].map((c) => c.storeId)).toEqual(Array(50).fill(STORE));
    expect(new Set(connection.channels.keys()).size).toBe(50);
    expect(client.state).toEqual({ status: "connected", reconnects: 0, url: server.url });
  });

  it("appends /streamz to the base url and sends the token as a bearer header", async () => {
    const server = await fakeServer();
    let path: string | undefined;
    server.http.prependListener("upgrade", (request: IncomingMessage) => (path = request.url));
    const client = provider(server, { token: async () => "token-1" });
    const stream = client.open(STORE, bytes("hello"));
    expect(str(await stream.receive())).toBe("hello");
    expect(path).toBe("/streamz");
    expect(server.upgrades[0]).toEqual({ authorization: "Bearer token-1", protocols: [] });
  });

  it("sends data only with credit: a server that stops granting stalls only that stream", async () => {
    const server = await fakeServer();
    const client = provider(server);
    const stalled = client.open(STORE, bytes("stalled"));
    const connection = await server.connection(0);
    connection.grantCredit = false;
    connection.echo = false;
    const sends = Array.from({ length: INITIAL_CREDIT + 8 }, (_, i) => stalled.send(bytes(`m${i}`)));
    const settled = new Set<number>();
    sends.forEach((send, i) => void send.then(() => settled.add(i)));

    // Another stream works meanwhile; its open went out after every stalled send was attempted.
    connection.echo = true;
    const other = client.open(STORE, bytes("other"));
    expect(str(await other.receive())).toBe("other");
    const stalledChannel = connection.channel(1);
    expect(stalledChannel.received).toHaveLength(INITIAL_CREDIT); // the open + 31 data frames
    expect(settled.size).toBe(INITIAL_CREDIT - 1);

    connection.send({ kind: FrameKinds.credit, channel: 1, credit: 9 });
    await Promise.all(sends);
    await until(connection, () => stalledChannel.received.length === INITIAL_CREDIT + 9, "the rest of the sends");
    expect(stalledChannel.received.slice(1)).toEqual(Array.from({ length: INITIAL_CREDIT + 8 }, (_, i) => `m${i}`));
  });

  it("grants credit as the caller reads: an unread stream stalls only itself", async () => {
    const server = await fakeServer();
    const client = provider(server);
    const unread = client.open(STORE, bytes("firehose"));
    const { connection, channel: firehose } = await server.opened(0, 1);
    const total = 100;
    for (let i = 0; i < total - 1; i++) connection.push(1, bytes(`e${i}`));
    expect(firehose.sent).toBe(INITIAL_CREDIT); // the echo of the open + 31 entries, then no credit

    const other = client.open(STORE, bytes("other"));
    await other.send(bytes("ping"));
    other.end();
    expect(await receiveAll(other)).toEqual(["other", "ping"]);
    expect(firehose.sent).toBe(INITIAL_CREDIT);

    const seen: string[] = [];
    for (let i = 0; i < total; i++) seen.push(str(await unread.receive())!);
    expect(seen).toEqual(["firehose", ...Array.from({ length: total - 1 }, (_, i) => `e${i}`)]);
    expect(firehose.sent).toBe(total);
  });

  it("fails a stream whose server sends beyond its credit, and tells the server", async () => {
    const server = await fakeServer();
    const client = provider(server);
    const stream = client.open(STORE, bytes("x"));
    expect(str(await stream.receive())).toBe("x"); // the echo used one credit
    const { connection, channel } = await server.opened(0, 1);
    // Raw frames bypass the fake's credit accounting: 31 more fill the window exactly.
    for (let i = 1; i < INITIAL_CREDIT; i++) connection.send({ kind: FrameKinds.data, channel: 1, message: bytes(`${i}`) });
    for (let i = 1; i < INITIAL_CREDIT; i++) expect(str(await stream.receive())).toBe(`${i}`);
    // Reading 32 granted 32 back (in two batches); send one more than that without reading.
    await until(connection, () => channel.credit === INITIAL_CREDIT - 1 + INITIAL_CREDIT, "credit grants");
    for (let i = 0; i <= INITIAL_CREDIT; i++) connection.send({ kind: FrameKinds.data, channel: 1, message: bytes("over") });
    await until(connection, () => channel.cancelled, "cancel frame");
    const error = await rejection(stream.receive());
    expect(error.kind).toBe("internal");
  });

  it("cancel sends a cancel frame and rejects pending receives with cancelled; other streams carry on", async () => {
    const server = await fakeServer();
    const client = provider(server);
    const first = client.open(STORE, bytes("one"));
    const second = client.open(STORE, bytes("two"));
    expect(str(await first.receive())).toBe("one");
    const pending = rejection(first.receive());
    const reason = new Error("user gave up");
    first.cancel(reason);
    const error = await pending;
    expect(error.kind).toBe("cancelled");
    expect(error.cause).toBe(reason);
    expect((await rejection(first.receive())).kind).toBe("cancelled");
    expect((await rejection(first.send(bytes("late")))).kind).toBe("cancelled");
    const connection = await server.connection(0);
    await until(connection, () => connection.channel(1).cancelled, "cancel frame");
    await second.send(bytes("still here"));
    second.end();
    expect(await receiveAll(second)).toEqual(["two", "still here"]);
  });

  it("end is sent after queued data, and a server error reaches receive after the data before it", async () => {
    const server = await fakeServer();
    const client = provider(server);
    const stream = client.open(STORE, bytes("open"));
    expect(str(await stream.receive())).toBe("open");
    const connection = await server.connection(0);
    connection.echo = false;
    void stream.send(bytes("1"));
    void stream.send(bytes("2"));
    stream.end();
    await until(connection, () => connection.channels.get(1)?.ended, "end frame");
    expect(connection.frames.map((frame) => frame.kind)).toEqual([FrameKinds.open, FrameKinds.data, FrameKinds.data, FrameKinds.end]);
    connection.push(1, bytes("entry"));
    connection.send({ kind: FrameKinds.error, channel: 1, error: new StreamsError("not_found", "no such thing").toInfo() });
    expect(str(await stream.receive())).toBe("entry");
    const error = await rejection(stream.receive());
    expect([error.kind, error.message]).toEqual(["not_found", "no such thing"]);
  });

  it("refuses a frame over maxFrameBytes on that stream only, with resource_exhausted", async () => {
    const server = await fakeServer();
    const client = provider(server, { maxFrameBytes: 1024 });
    const big = client.open(STORE, bytes("big"));
    const small = client.open(STORE, bytes("small"));
    expect(str(await big.receive())).toBe("big");
    const sent = big.send(new Uint8Array(2000));
    expect((await rejection(sent)).kind).toBe("resource_exhausted");
    expect((await rejection(big.receive())).kind).toBe("resource_exhausted");
    const connection = await server.connection(0);
    await until(connection, () => connection.channel(1).cancelled, "cancel of the oversized stream");
    expect(connection.channel(1).received).toEqual(["big"]);

    const oversizedOpen = client.open(STORE, new Uint8Array(4096));
    expect((await rejection(oversizedOpen.receive())).kind).toBe("resource_exhausted");
    small.end();
    expect(await receiveAll(small)).toEqual(["small"]);
    expect(connection.frames.filter((frame) => frame.kind === FrameKinds.open)).toHaveLength(2);
  });

  it("fails streams of a dropped connection with unavailable, then reconnects with backoff and a fresh token", async () => {
    const server = await fakeServer();
    let tokens = 0;
    const failures: [string, number][] = [];
    const client = provider(server, {
      token: async () => `token-${++tokens}`,
      retry: { initialDelayMs: 1, maxDelayMs: 4, jitter: 0 },
      onDialFailure: (error, attempt) => failures.push([error.kind, attempt]),
    });
    const before = client.open(STORE, bytes("before"));
    expect(str(await before.receive())).toBe("before");
    const pending = rejection(before.receive());

    let refusals = 2;
    server.verdict = () => (refusals-- > 0 ? { status: 503, reason: "restarting" } : "accept");
    (await server.connection(0)).socket.terminate();
    const error = await pending;
    expect([error.kind, error.code]).toEqual(["unavailable", "transient"]);
    expect(client.state.status).toBe("reconnecting");

    // A stream opened while reconnecting waits for the connection.
    const during = client.open(STORE, bytes("during"));
    expect(str(await during.receive())).toBe("during");
    expect(failures).toEqual([
      ["unavailable", 1],
      ["unavailable", 2],
    ]);
    expect(server.upgrades.map((u) => u.authorization)).toEqual(["Bearer token-1", "Bearer token-2", "Bearer token-3", "Bearer token-4"]);
    expect(server.connections[1]!.upgrade.authorization).toBe("Bearer token-4");
    expect(client.state).toEqual({ status: "connected", reconnects: 1, url: server.url });
  });

  it("reconnects after a 1001 going-away close", async () => {
    const server = await fakeServer();
    const client = provider(server, { retry: { initialDelayMs: 1, jitter: 0 } });
    const stream = client.open(STORE, bytes("a"));
    expect(str(await stream.receive())).toBe("a");
    (await server.connection(0)).socket.close(1001, "server shutting down");
    const error = await rejection(stream.receive());
    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("1001 server shutting down");
    expect(str(await client.open(STORE, bytes("b")).receive())).toBe("b");
    expect(server.connections).toHaveLength(2);
    expect(client.state).toEqual({ status: "connected", reconnects: 1, url: server.url });
  });

  it("a 401 at the upgrade is unauthenticated and is not retried", async () => {
    const server = await fakeServer();
    server.verdict = () => ({ status: 401, reason: "token expired" });
    const failures: [string, number][] = [];
    let tokens = 0;
    const client = provider(server, {
      token: () => `token-${++tokens}`,
      retry: { initialDelayMs: 0, jitter: 0 },
      onDialFailure: (error, attempt) => failures.push([error.kind, attempt]),
    });
    const error = await rejection(client.open(STORE, bytes("x")).receive());
    expect([error.kind, error.code]).toEqual(["unauthenticated", "permanent"]);
    expect(error.message).toContain("token expired");
    // A later open dials anew (attempt 1 of its own); a retrying provider would be at attempt 2 or more.
    const again = await rejection(client.open(STORE, bytes("y")).receive());
    expect(again.kind).toBe("unauthenticated");
    expect(failures).toEqual([
      ["unauthenticated", 1],
      ["unauthenticated", 1],
    ]);
    expect(server.upgrades).toHaveLength(2);
    expect(tokens).toBe(2);
  });

  it("gives waiting streams the last error after retry.maxAttempts failed dials", async () => {
    const server = await fakeServer();
    server.verdict = () => ({ status: 503, reason: "busy" });
    const client = provider(server, { retry: { initialDelayMs: 1, jitter: 0, maxAttempts: 3 } });
    const error = await rejection(client.open(STORE, bytes("x")).receive());
    expect(error.kind).toBe("unavailable");
    expect(error.message).toContain("503");
    expect(server.upgrades).toHaveLength(3);
  });

  it("bounds a dial with connectTimeoutMs", async () => {
    const server = await fakeServer();
    server.verdict = () => "hang";
    const failures: string[] = [];
    const client = provider(server, {
      connectTimeoutMs: 50,
      retry: { maxAttempts: 1 },
      onDialFailure: (error) => failures.push(error.message),
    });
    const error = await rejection(client.open(STORE, bytes("x")).receive());
    expect(error.kind).toBe("unavailable");
    expect(failures).toEqual(["connect timed out after 50 ms"]);
  });

  it("a cancel bounds a stream waiting for the connection", async () => {
    const server = await fakeServer();
    server.verdict = () => ({ status: 503, reason: "down" });
    const client = provider(server, { retry: { initialDelayMs: 1, jitter: 0 } });
    const waiting = client.open(STORE, bytes("x"));
    await until(server, () => server.upgrades.length >= 2, "a retried dial");
    const pending = rejection(waiting.receive());
    waiting.cancel();
    expect((await pending).kind).toBe("cancelled");
    server.verdict = () => "accept";
    expect(str(await client.open(STORE, bytes("later")).receive())).toBe("later");
    const connection = await server.connection(0);
    expect([...connection.channels.values()].map((c) => c.received[0])).toEqual(["later"]);
  });

  it("a malformed frame on a channel fails that stream; an unattributable one closes the connection", async () => {
    const server = await fakeServer();
    const client = provider(server, { retry: { initialDelayMs: 1, jitter: 0 } });
    const victim = client.open(STORE, bytes("victim"));
    const bystander = client.open(STORE, bytes("bystander"));
    expect(str(await victim.receive())).toBe("victim");
    expect(str(await bystander.receive())).toBe("bystander");
    const connection = await server.connection(0);
    connection.socket.send(Buffer.from([0x93, FrameKinds.credit, 1, 0])); // credit 0 on channel 1
    expect((await rejection(victim.receive())).kind).toBe("internal");
    await bystander.send(bytes("fine"));
    expect(str(await bystander.receive())).toBe("fine");

    connection.socket.send(Buffer.from([0xc1])); // not msgpack
    expect((await rejection(bystander.receive())).kind).toBe("unavailable");
    await until(connection, () => connection.closed, "connection closed");
    expect(connection.closed!.code).toBe(1002);
    await server.connection(1);
  });

  it("close() is idempotent, closes with 1000 and fails open and later streams with cancelled", async () => {
    const server = await fakeServer();
    const client = provider(server);
    const stream = client.open(STORE, bytes("a"));
    expect(str(await stream.receive())).toBe("a");
    const pending = rejection(stream.receive());
    await Promise.all([client.close(), client.close()]);
    await client[Symbol.asyncDispose]();
    expect((await pending).kind).toBe("cancelled");
    expect(client.state.status).toBe("closed");
    const connection = await server.connection(0);
    await until(connection, () => connection.closed, "close");
    expect(connection.closed!.code).toBe(1000);
    expect((await rejection(client.open(STORE, bytes("b")).receive())).kind).toBe("cancelled");
  });

  it("carries the token as a subprotocol with a browser-like WebSocket (no headers)", async () => {
    class BrowserLikeWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[], ...rest: unknown[]) {
        if (rest.length > 0) throw new TypeError("a browser WebSocket takes no options");
        super(url, protocols);
      }
    }
    const server = await fakeServer();
    const client = provider(server, { token: async () => "header.payload.signature", WebSocket: BrowserLikeWebSocket });
    const stream = client.open(STORE, bytes("from the browser"));
    await stream.send(new Uint8Array([0, 1, 2, 255]));
    expect(str(await stream.receive())).toBe("from the browser");
    const echoed = await stream.receive();
    expect(echoed).toBeInstanceOf(Uint8Array);
    expect([...echoed!]).toEqual([0, 1, 2, 255]);
    expect(server.upgrades[0]).toEqual({ authorization: undefined, protocols: ["streamkit.v1", "bearer.header.payload.signature"] });
    expect(server.connections[0]!.socket.protocol).toBe("streamkit.v1");
  });

  it("rejects invalid options with TypeError", () => {
    expect(() => createWsProvider("not a url")).toThrow(TypeError);
    expect(() => createWsProvider("ftp://host")).toThrow(TypeError);
    expect(() => createWsProvider("ws://h", { token: 42 as unknown as string })).toThrow(TypeError);
    expect(() => createWsProvider("ws://h", { retry: { multiplier: 0.5 } })).toThrow(/multiplier/);
    expect(() => createWsProvider("ws://h", { retry: { jitter: 2 } })).toThrow(/jitter/);
    expect(() => createWsProvider("ws://h", { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
    expect(() => createWsProvider("ws://h", { refreshAt: 0 })).toThrow(/refreshAt/);
    expect(() => createWsProvider("ws://h", { maxFrameBytes: 1.5 })).toThrow(/maxFrameBytes/);
    expect(() => createWsProvider("ws://h", { connectTimeoutMs: -1 })).toThrow(/connectTimeoutMs/);
  });
});

describe("in-band token refresh", () => {
  const start = Date.parse("2030-01-01T00:00:00Z");
  const seconds = (ms: number) => Math.floor(ms / 1000);

  async function refreshingClient(lifetimeSeconds: number) {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: start });
    const server = await fakeServer();
    const issued: string[] = [];
    const client = provider(server, {
      token: async () => {
        const now = seconds(Date.now());
        const token = await jwt(`t${issued.length + 1}`, now, now + lifetimeSeconds);
        issued.push(token);
        return token;
      },
    });
    const stream = client.open(STORE, bytes("long-lived"));
    expect(str(await stream.receive())).toBe("long-lived");
    const connection = await server.connection(0);
    /** A round trip on the stream: every refresh frame sent before it has reached the server. */
    const roundTrip = async (label: string) => {
      await stream.send(bytes(label));
      expect(str(await stream.receive())).toBe(label);
    };
    return { server, client, stream, connection, issued, roundTrip };
  }

  it("sends a refresh frame at 80% of the token lifetime, again for each new token, and keeps streams open", async () => {
    const { connection, issued, roundTrip } = await refreshingClient(100);
    await vi.advanceTimersByTimeAsync(79_000);
    await roundTrip("at 79 s");
    expect(connection.refreshTokens).toEqual([]);

    await vi.advanceTimersByTimeAsync(1_000);
    await until(connection, () => connection.refreshTokens.length === 1, "first refresh");
    expect(connection.refreshTokens).toEqual([issued[1]]);
    await roundTrip("after the first refresh"); // the server's `refreshed` answer has reached the client

    // The new token was issued at 80 s for 100 s: its refresh is due at 160 s.
    await vi.advanceTimersByTimeAsync(79_000);
    await roundTrip("at 159 s");
    expect(connection.refreshTokens).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await until(connection, () => connection.refreshTokens.length === 2, "second refresh");
    expect(connection.refreshTokens[1]).toBe(issued[2]);
    await roundTrip("after refreshes");
    expect(issued).toHaveLength(3);
  });

  it("retries a refused refresh before expiry, halving the time left", async () => {
    const { connection, issued, roundTrip } = await refreshingClient(100);
    connection.refreshAnswer = () => ({
      kind: FrameKinds.refreshed,
      channel: 0,
      ok: false,
      error: new StreamsError("unauthenticated", "nope").toInfo(),
    });
    await vi.advanceTimersByTimeAsync(80_000);
    await until(connection, () => connection.refreshTokens.length === 1, "first refresh");
    await roundTrip("refused once"); // the refusal has reached the client
    // 20 s were left: the retry is due 10 s later.
    await vi.advanceTimersByTimeAsync(9_000);
    await roundTrip("at 89 s");
    expect(connection.refreshTokens).toHaveLength(1);
    connection.refreshAnswer = () => ({ kind: FrameKinds.refreshed, channel: 0, ok: true });
    await vi.advanceTimersByTimeAsync(1_000);
    await until(connection, () => connection.refreshTokens.length === 2, "retried refresh");
    await roundTrip("accepted");
    // Accepted at 90 s for 100 s: the next refresh is due at 170 s, not at the old token's retry points.
    await vi.advanceTimersByTimeAsync(79_000);
    await roundTrip("at 169 s");
    expect(connection.refreshTokens).toEqual([issued[1], issued[2]]);
    await vi.advanceTimersByTimeAsync(1_000);
    await until(connection, () => connection.refreshTokens.length === 3, "next regular refresh");
  });

  it("retries a refresh the server never answers, and stops retrying at expiry", async () => {
    const { connection, roundTrip } = await refreshingClient(100);
    connection.refreshAnswer = () => ({ kind: FrameKinds.data, channel: 999, message: bytes("not an answer") });
    // Refreshes at 80 s, then after each unanswered wait of half the time left: 90, 95, 97.5 s; then none.
    for (const [advanceMs, expected] of [
      [80_000, 1],
      [10_000, 2],
      [5_000, 3],
      [2_500, 4],
    ] as const) {
      await vi.advanceTimersByTimeAsync(advanceMs);
      await until(connection, () => connection.refreshTokens.length === expected, `refresh #${expected}`);
      await roundTrip(`after refresh #${expected}`);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    await roundTrip("after expiry");
    expect(connection.refreshTokens).toHaveLength(4);
  });
});
