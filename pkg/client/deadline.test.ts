import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  type Message,
  MessageTypes,
  type Provider,
  StreamsError,
} from "../api/internal/index.js";
import { createClient } from "./index.js";

// Per-request deadlines (`timeoutMs`, `requestTimeoutMs`) and the outcome of a call given up, over a
// transport played by the test: it holds what is sent until it is "connected" (what it holds can be
// taken back, like the WebSocket channel's) and answers only when told. Fake timers: no real waits.

const STORE = "9a7c3e21-0b4d-4f6a-8e5c-2d1b0a9f8e7d";
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

interface Held {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

class FakeStream implements ClientStream {
  /** What reached the server, in order (the open first). */
  readonly received: Message[] = [];
  readonly #held: Held[] = [];
  readonly #answers: (Uint8Array | undefined)[] = [];
  #readers: { resolve: (bytes: Uint8Array | undefined) => void; reject: (error: unknown) => void }[] = [];
  cancelled = false;

  constructor(
    private readonly wire: FakeWire,
    first: Uint8Array,
  ) {
    this.#held.push({ bytes: first, resolve: () => undefined, reject: () => undefined });
    this.flush();
  }

  get opened(): boolean {
    return this.received.length > 0;
  }

  flush(): void {
    if (!this.wire.connected || this.cancelled) return;
    for (const held of this.#held.splice(0)) {
      this.received.push(decodeAny(held.bytes) as Message);
      held.resolve();
    }
  }

  async send(message: Uint8Array): Promise<void> {
    if (this.cancelled) throw new StreamsError("cancelled", "stream cancelled");
    return new Promise((resolve, reject) => {
      this.#held.push({ bytes: message, resolve, reject });
      this.flush();
    });
  }

  withdraw(message?: Uint8Array): boolean {
    if (this.cancelled) return false;
    if (message === undefined) {
      if (this.opened) return false;
      this.cancel();
      return true;
    }
    const index = this.#held.findIndex((held) => held.bytes === message);
    if (index < 0) return false;
    this.#held.splice(index, 1)[0]?.resolve();
    return true;
  }

  async receive(): Promise<Uint8Array | undefined> {
    if (this.#answers.length > 0) return this.#answers.shift();
    if (this.cancelled) throw new StreamsError("cancelled", "stream cancelled");
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  end(): void {}

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const held of this.#held.splice(0)) held.reject(new StreamsError("cancelled", "stream cancelled"));
    for (const reader of this.#readers.splice(0)) reader.reject(new StreamsError("cancelled", "stream cancelled"));
  }

  /** The server answers `message` (undefined: it ends the stream). */
  answer(message: Message | undefined): void {
    const encoded = message === undefined ? undefined : encodeMessage(message);
    const reader = this.#readers.shift();
    if (reader === undefined) this.#answers.push(encoded);
    else reader.resolve(encoded);
  }

  /** Payloads of the publishes or records that reached the server on this stream. */
  get payloads(): string[] {
    const payloads = this.received.flatMap((message) => {
      if (message.$type === MessageTypes.publishBatch) return message.publishes.map((item) => item.payload);
      if (message.$type === MessageTypes.recordBatch) return message.records.map((record) => record.payload);
      return message.$type === MessageTypes.publish ? [message.payload] : [];
    });
    return payloads.map((payload) => new TextDecoder().decode(payload));
  }
}

class FakeWire {
  connected = true;
  readonly streams: FakeStream[] = [];
  readonly provider: Provider = {
    open: (_storeId, first) => {
      const stream = new FakeStream(this, first);
      this.streams.push(stream);
      return stream;
    },
    state: { status: "connected", reconnects: 0 },
    close: async () => undefined,
  };

  connect(): void {
    this.connected = true;
    for (const stream of this.streams) stream.flush();
  }
}

const status = (lastSequence: number) => ({ space: "s", segment: "g", firstSequence: lastSequence, firstTimestamp: 1, lastSequence, lastTimestamp: 1 });
const caught = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => "resolved", (error: unknown) => error);
const outcomeUnknown = { kind: "deadline_exceeded", code: "transient", details: { outcome: "unknown" } };

afterEach(() => {
  vi.useRealTimers();
});

describe("publish deadlines", () => {
  it("rejects a publish sent and unanswered within timeoutMs with outcome unknown, then retires its lane", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const late = caught(client.publish(STORE, "s", "g", bytes("late"), { timeoutMs: 1_000 }));
    const patient = client.publish(STORE, "s", "g", bytes("patient"), { timeoutMs: 5_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(wire.streams[0]?.payloads).toEqual(["late", "patient"]);
    await vi.advanceTimersByTimeAsync(1);
    const error = await late;
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ ...outcomeUnknown, message: expect.stringContaining("timed out after 1000 ms") });

    // The lane takes no more publishes: the next opens a new one.
    const next = client.publish(STORE, "s", "g", bytes("next"));
    await vi.advanceTimersByTimeAsync(0);
    expect(wire.streams).toHaveLength(2);
    expect(wire.streams[1]?.payloads).toEqual(["next"]);
    // The old lane is cancelled once its last call has settled, here by its answer.
    expect(wire.streams[0]?.cancelled).toBe(false);
    wire.streams[0]?.answer({ $type: MessageTypes.publishResults, results: [status(1), status(2)] });
    expect((await patient).lastSequence).toBe(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(wire.streams[0]?.cancelled).toBe(true);
    wire.streams[1]?.answer({ $type: MessageTypes.publishResults, results: [status(3)] });
    expect((await next).lastSequence).toBe(3);
  });

  it("cancels a retired lane whose calls all pass their deadlines unanswered", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider, { requestTimeoutMs: 1_000 });
    const calls = [caught(client.publish(STORE, "s", "g", bytes("a"))), caught(client.publish(STORE, "s", "g", bytes("b")))];
    await vi.advanceTimersByTimeAsync(1_000);
    for (const call of calls) expect(await call).toMatchObject(outcomeUnknown);
    expect(wire.streams[0]?.cancelled).toBe(true);
  });

  it("rejects a publish still unsent at its deadline with deadline_exceeded and no outcome, and never sends it", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    wire.connected = false;
    const client = createClient(wire.provider, { requestTimeoutMs: 1_000 });
    const opener = client.publish(STORE, "s", "g", bytes("opener"), { timeoutMs: 10_000 });
    const unsent = caught(client.publish(STORE, "s", "g", bytes("unsent")));
    const kept = client.publish(STORE, "s", "g", bytes("kept"), { timeoutMs: Number.POSITIVE_INFINITY });
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await unsent;
    expect(error).toMatchObject({ kind: "deadline_exceeded", message: expect.stringContaining("nothing of it was sent") });
    expect((error as StreamsError).details).toBeUndefined();
    wire.connect();
    expect(wire.streams).toHaveLength(1);
    expect(wire.streams[0]?.payloads).toEqual(["opener", "kept"]);
    wire.streams[0]?.answer({ $type: MessageTypes.publishResults, results: [status(1), status(2)] });
    expect((await opener).lastSequence).toBe(1);
    expect((await kept).lastSequence).toBe(2);
  });

  it("takes the per-call timeoutMs over the client's requestTimeoutMs, and checks both", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider, { requestTimeoutMs: 100 });
    const longer = caught(client.publish(STORE, "s", "g", bytes("x"), { timeoutMs: 2_000 }));
    await vi.advanceTimersByTimeAsync(1_999);
    wire.streams[0]?.answer({ $type: MessageTypes.publishResults, results: [status(1)] });
    expect(await longer).toBe("resolved");
    expect(() => createClient(wire.provider, { requestTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => createClient(wire.provider, { requestTimeoutMs: 1.5 })).toThrow(TypeError);
    await expect(client.publish(STORE, "s", "g", bytes("x"), { timeoutMs: -1 })).rejects.toThrow(TypeError);
    await expect(client.peek(STORE, "s", "g", { timeoutMs: "1000" as unknown as number })).rejects.toThrow(TypeError);
  });
});

describe("unary deadlines", () => {
  it("rejects a read unanswered within timeoutMs with deadline_exceeded and cancels its stream", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const peek = caught(client.peek(STORE, "s", "g", { timeoutMs: 500 }));
    await vi.advanceTimersByTimeAsync(500);
    const error = await peek;
    expect(error).toMatchObject({ kind: "deadline_exceeded", message: expect.stringContaining("peek timed out after 500 ms") });
    expect((error as StreamsError).details).toBeUndefined();
    expect(wire.streams[0]?.cancelled).toBe(true);
  });

  it("rejects a write that went out with outcome unknown, and one still unsent with no outcome", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider, { requestTimeoutMs: 500 });
    const sent = caught(client.deleteSegment(STORE, "s", "g"));
    await vi.advanceTimersByTimeAsync(500);
    expect(await sent).toMatchObject(outcomeUnknown);

    wire.connected = false;
    const unsent = caught(client.closeSegment(STORE, "s", "g"));
    await vi.advanceTimersByTimeAsync(500);
    const error = await unsent;
    expect(error).toMatchObject({ kind: "deadline_exceeded" });
    expect((error as StreamsError).details).toBeUndefined();
    wire.connect();
    expect(wire.streams[1]?.received).toEqual([]);
  });

  it("rejects a write aborted after it went out with outcome unknown, and one aborted unsent with cancelled, never sending it", async () => {
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const controller = new AbortController();
    const sent = caught(client.truncateSegment(STORE, "s", "g", 5, { signal: controller.signal }));
    wire.connected = false;
    const unsent = caught(client.releaseLease(STORE, "k", { holder: "h", signal: controller.signal }));
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await sent;
    expect(error).toMatchObject(outcomeUnknown);
    expect((error as StreamsError).cause).toBe(reason);
    expect(await unsent).toMatchObject({ kind: "cancelled", cause: reason });
    wire.connect();
    expect(wire.streams[1]?.received).toEqual([]);
  });

  it("resolves a write answered before its abort with the answer, even when the abort comes before the call resumes", async () => {
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const controller = new AbortController();
    const deleting = caught(client.deleteStore(STORE, { signal: controller.signal }));
    await vi.waitFor(() => expect(wire.streams[0]?.opened).toBe(true));
    wire.streams[0]?.answer({ $type: MessageTypes.done });
    controller.abort("late");
    expect(await deleting).toBe("resolved");
  });

  it("rejects withLease aborted while its acquire is in flight with cancelled, giving the lease back", async () => {
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const controller = new AbortController();
    let ran = false;
    const holding = caught(client.withLease(STORE, "k", { ttlMs: 10_000, holder: "h", signal: controller.signal }, () => (ran = true)));
    await vi.waitFor(() => expect(wire.streams).toHaveLength(1));
    controller.abort("stop");
    expect(await holding).toMatchObject({ kind: "cancelled", cause: "stop" });
    expect(ran).toBe(false);
    expect(wire.streams[1]?.received).toEqual([{ $type: MessageTypes.leaseRelease, key: "k", holder: "h" }]);
  });

  it("bounds each lease call", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const acquire = caught(client.acquireLease(STORE, "k", { holder: "h", ttlMs: 10_000, timeoutMs: 300 }));
    await vi.advanceTimersByTimeAsync(300);
    expect(await acquire).toMatchObject(outcomeUnknown);
  });
});

describe("produce: deadlines and aborts", () => {
  const records = (...payloads: string[]) => payloads.map((payload, index) => ({ sequence: index + 1, payload: bytes(payload) }));

  it("rejects a produce whose batch is unanswered within timeoutMs with outcome unknown", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    const producing = caught(client.produce(STORE, "s", "g", records("a", "b"), { timeoutMs: 800 }));
    await vi.advanceTimersByTimeAsync(800);
    expect(await producing).toMatchObject({ ...outcomeUnknown, message: expect.stringContaining("produce timed out after 800 ms") });
    expect(wire.streams[0]?.cancelled).toBe(true);
  });

  it("times each batch from its own sending: a slow source is not a late answer", async () => {
    vi.useFakeTimers();
    const wire = new FakeWire();
    const client = createClient(wire.provider);
    let next: () => void = () => undefined;
    async function* source() {
      yield { sequence: 1, payload: bytes("a") };
      await new Promise<void>((resolve) => (next = resolve));
      yield { sequence: 2, payload: bytes("b") };
    }
    const producing = client.produce(STORE, "s", "g", source(), { timeoutMs: 800 });
    await vi.advanceTimersByTimeAsync(700);
    wire.streams[0]?.answer({ $type: MessageTypes.segmentStatus, ...status(1) });
    await vi.advanceTimersByTimeAsync(5_000); // the source waits, no batch is owed an answer
    next();
    await vi.advanceTimersByTimeAsync(700);
    expect(wire.streams[0]?.payloads).toEqual(["a", "b"]);
    wire.streams[0]?.answer({ $type: MessageTypes.segmentStatus, ...status(2) });
    wire.streams[0]?.answer(undefined);
    expect(await producing).toEqual([status(1), status(2)]);
  });

  it("rejects a produce aborted before any batch went out with cancelled, and never sends them", async () => {
    const wire = new FakeWire();
    wire.connected = false;
    const client = createClient(wire.provider);
    const controller = new AbortController();
    const producing = caught(client.produce(STORE, "s", "g", records("a", "b"), { signal: controller.signal }));
    await vi.waitFor(() => expect(wire.streams).toHaveLength(1));
    await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await producing;
    expect(error).toMatchObject({ kind: "cancelled" });
    expect((error as StreamsError).cause).toBe(reason);
    wire.connect();
    expect(wire.streams[0]?.received).toEqual([]);
  });

  it("rejects a produce aborted with a batch sent and unanswered with outcome unknown, sending nothing more", async () => {
    const wire = new FakeWire();
    const client = createClient(wire.provider, { batchSize: 1 });
    const controller = new AbortController();
    let more: () => void = () => undefined;
    async function* source() {
      yield { sequence: 1, payload: bytes("a") };
      await new Promise<void>((resolve) => (more = resolve));
      yield { sequence: 2, payload: bytes("b") };
    }
    const producing = caught(client.produce(STORE, "s", "g", source(), { signal: controller.signal }));
    await vi.waitFor(() => expect(wire.streams[0]?.payloads).toEqual(["a"]));
    // "a" went out and no status came: it may be stored.
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await producing;
    expect(error).toMatchObject(outcomeUnknown);
    expect((error as StreamsError).cause).toBe(reason);
    more();
    await new Promise((resolve) => setImmediate(resolve));
    expect(wire.streams[0]?.payloads).toEqual(["a"]);
  });

  it("rejects a produce aborted while waiting on its source, every batch sent answered, with cancelled, sending nothing more", async () => {
    const wire = new FakeWire();
    const client = createClient(wire.provider, { batchSize: 1 });
    const controller = new AbortController();
    let more: () => void = () => undefined;
    async function* source() {
      yield { sequence: 1, payload: bytes("a") };
      yield { sequence: 2, payload: bytes("b") };
      await new Promise<void>((resolve) => (more = resolve));
      yield { sequence: 3, payload: bytes("c") };
    }
    const producing = caught(client.produce(STORE, "s", "g", source(), { signal: controller.signal }));
    await vi.waitFor(() => expect(wire.streams[0]?.payloads).toEqual(["a", "b"]));
    wire.streams[0]?.answer({ $type: MessageTypes.segmentStatus, ...status(1) });
    await new Promise((resolve) => setImmediate(resolve));
    // The last status is answered but its read not yet resumed when the abort comes: still an answer.
    wire.streams[0]?.answer({ $type: MessageTypes.segmentStatus, ...status(2) });
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await producing;
    expect(error).toMatchObject({ kind: "cancelled", code: "permanent" });
    expect((error as StreamsError).details).toBeUndefined();
    expect((error as StreamsError).cause).toBe(reason);
    more();
    await new Promise((resolve) => setImmediate(resolve));
    expect(wire.streams[0]?.payloads).toEqual(["a", "b"]);
    expect(wire.streams[0]?.cancelled).toBe(true);
  });
});
