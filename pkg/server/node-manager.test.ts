import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  type Entry,
  MessageTypes,
  type Provider,
  type ServerStream,
  StreamsError,
} from "../api/internal/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { Store, StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { createNodeManager, type StoreNodeManager } from "./node-manager.js";
import type { NodeManagerOptions } from "./options.js";

const A = "0a0a0a0a-0000-4000-8000-00000000000a";
const B = "0b0b0b0b-0000-4000-8000-00000000000b";
const C = "0c0c0c0c-0000-4000-8000-00000000000c";

/** A settable promise: lets a test hold a store open or close until it says so. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

async function rejection(promise: Promise<unknown>): Promise<StreamsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StreamsError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

/** The real memory factory, observed: opens and closes per store id, with failures and holds a test can switch on. */
class ObservedFactory implements StoreFactory {
  readonly opens: string[] = [];
  readonly closes: string[] = [];
  readonly failing = new Set<string>();
  openGate: Promise<void> | undefined;
  closeGate: Promise<void> | undefined;
  readonly #memory = createMemoryStoreFactory();

  async open(storeId: string): Promise<Store> {
    this.opens.push(storeId);
    await this.openGate;
    if (this.failing.has(storeId)) throw new Error("disk on fire");
    const store = await this.#memory.open(storeId);
    const close = store.close.bind(store);
    return Object.assign(store, {
      close: async () => {
        this.closes.push(storeId);
        await this.closeGate;
        await close();
      },
    });
  }
}

/** Reads a stream to its end; returns decoded messages and the error that ended it. */
async function drain(stream: ClientStream): Promise<{ messages: { [key: string]: unknown }[]; error?: StreamsError }> {
  const messages: { [key: string]: unknown }[] = [];
  try {
    for (let bytes = await stream.receive(); bytes !== undefined; bytes = await stream.receive()) {
      messages.push(decodeAny(bytes) as { [key: string]: unknown });
    }
    return { messages };
  } catch (error) {
    if (error instanceof StreamsError) return { messages, error };
    throw error;
  }
}

describe("createNodeManager", () => {
  let factory: ObservedFactory;
  let manager: StoreNodeManager;
  let provider: Provider;

  function start(options: Partial<NodeManagerOptions> = {}): void {
    factory = new ObservedFactory();
    manager = createNodeManager({ storeFactory: factory, idleEviction: false, ...options });
    provider = createInProcProvider(manager);
  }

  beforeEach(() => {
    vi.useFakeTimers();
    start();
  });

  afterEach(async () => {
    await provider.close();
    await manager.close();
    vi.useRealTimers();
  });

  describe("options", () => {
    it("rejects bad options with TypeError", () => {
      const storeFactory = new ObservedFactory();
      const bad: unknown[] = [
        undefined,
        {},
        { storeFactory: {} },
        { storeFactory, busFactory: 3 },
        { storeFactory, idleEviction: { idleTtlMs: 0 } },
        { storeFactory, idleEviction: { checkIntervalMs: 1.5 } },
        { storeFactory, idleEviction: true },
        { storeFactory, circuitBreaker: { failureThreshold: -1 } },
        { storeFactory, circuitBreaker: { openMs: "30s" } },
        { storeFactory, limits: { maxPayloadBytes: 0 } },
        { storeFactory, logger: { error: () => undefined } },
        { storeFactory, nodeId: "" },
      ];
      for (const options of bad) expect(() => createNodeManager(options as NodeManagerOptions), JSON.stringify(options)).toThrow(TypeError);
    });

    it("merges partial options with the defaults", async () => {
      const merged = createNodeManager({
        storeFactory: new ObservedFactory(),
        idleEviction: { idleTtlMs: 10 },
        circuitBreaker: { openMs: undefined },
        limits: {},
        busFactory: createMemoryBusFactory(),
        nodeId: "n-1",
      });
      expect(merged.nodeId).toBe("n-1");
      expect(merged.bus.connected).toBe(true);
      await merged.close();
    });
  });

  describe("getOrCreate", () => {
    it("opens a store once for concurrent callers, with its id in lower case", async () => {
      const gate = deferred();
      factory.openGate = gate.promise;
      const calls = [manager.getOrCreate(A.toUpperCase()), manager.getOrCreate(A), manager.getOrCreate(A.toUpperCase())];
      gate.resolve();
      const nodes = await Promise.all(calls);
      expect(factory.opens).toEqual([A]);
      expect(new Set(nodes).size).toBe(1);
      expect(nodes[0]?.storeId).toBe(A);
      expect(await manager.getOrCreate(A)).toBe(nodes[0]);
      expect(factory.opens).toEqual([A]);
    });

    it("refuses an id that is not a UUID with invalid_argument", async () => {
      expect(await rejection(manager.getOrCreate("not-a-uuid"))).toMatchObject({ kind: "invalid_argument" });
      const stream = provider.open("../etc", encodeMessage({ $type: MessageTypes.getSpaces }));
      expect((await drain(stream)).error).toMatchObject({ kind: "invalid_argument" });
      expect(factory.opens).toEqual([]);
    });

    it("surfaces an open failure as unavailable keeping the cause", async () => {
      factory.failing.add(A);
      const error = await rejection(manager.getOrCreate(A));
      expect(error).toMatchObject({ kind: "unavailable", code: "transient" });
      expect((error.cause as Error).message).toBe("disk on fire");
      const stream = provider.open(A, encodeMessage({ $type: MessageTypes.getSpaces }));
      expect((await drain(stream)).error).toMatchObject({ kind: "unavailable" });
    });
  });

  describe("circuit breaker", () => {
    it("fails fast after 3 failures, counts down, lets one trial through and reopens a full window when it fails", async () => {
      factory.failing.add(A);
      for (let i = 0; i < 2; i++) expect((await rejection(manager.getOrCreate(A))).retryAfterMs).toBeUndefined();
      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ kind: "unavailable", retryAfterMs: 30_000 });
      expect(factory.opens).toHaveLength(3);

      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ kind: "unavailable", retryAfterMs: 30_000 });
      vi.advanceTimersByTime(12_000);
      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ kind: "unavailable", retryAfterMs: 18_000 });
      expect(factory.opens).toHaveLength(3);
      expect(manager.circuits()).toEqual([{ storeId: A, state: "open", failures: 3, retryAfterMs: 18_000 }]);
      expect(await manager.getOrCreate(B)).toMatchObject({ storeId: B });

      vi.advanceTimersByTime(18_000);
      const gate = deferred();
      factory.openGate = gate.promise;
      const trial = rejection(manager.getOrCreate(A));
      const during = await rejection(manager.getOrCreate(A));
      expect(during).toMatchObject({ kind: "unavailable" });
      gate.resolve();
      expect(await trial).toMatchObject({ kind: "unavailable", retryAfterMs: 30_000 });
      expect(factory.opens.filter((id) => id === A)).toHaveLength(4);
      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ retryAfterMs: 30_000 });

      vi.advanceTimersByTime(30_000);
      factory.failing.delete(A);
      expect(await manager.getOrCreate(A)).toMatchObject({ storeId: A });
      expect(manager.circuits()).toEqual([]);
    });

    it("resets after a success: the next failures count from zero", async () => {
      factory.failing.add(A);
      await rejection(manager.getOrCreate(A));
      await rejection(manager.getOrCreate(A));
      factory.failing.delete(A);
      await manager.getOrCreate(A);
      await manager.remove(A);
      factory.failing.add(A);
      expect((await rejection(manager.getOrCreate(A))).retryAfterMs).toBeUndefined();
      expect((await rejection(manager.getOrCreate(A))).retryAfterMs).toBeUndefined();
      expect(factory.opens).toHaveLength(5);
      expect(manager.circuits()).toEqual([{ storeId: A, state: "closed", failures: 2, retryAfterMs: 0 }]);
    });

    it("honours its configured threshold and window", async () => {
      start({ circuitBreaker: { failureThreshold: 1, openMs: 500 } });
      factory.failing.add(A);
      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ retryAfterMs: 500 });
      vi.advanceTimersByTime(499);
      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ retryAfterMs: 1 });
      vi.advanceTimersByTime(1);
      await rejection(manager.getOrCreate(A));
      expect(factory.opens).toHaveLength(2);
    });
  });

  describe("idle eviction", () => {
    beforeEach(() => start({ idleEviction: { idleTtlMs: 1_000, checkIntervalMs: 100 } }));

    it("closes and removes an idle node; the store's data is still there when it comes back", async () => {
      const stream = provider.open(A, encodeMessage({ $type: MessageTypes.publish, space: "s", segment: "g", payload: new Uint8Array([7]) }));
      expect((await drain(stream)).messages).toHaveLength(1);
      expect(manager.nodes().map((n) => n.storeId)).toEqual([A]);
      await vi.advanceTimersByTimeAsync(1_100);
      expect(manager.nodes()).toEqual([]);
      expect(factory.closes).toEqual([A]);
      const peek = provider.open(A, encodeMessage({ $type: MessageTypes.peek, space: "s", segment: "g" }));
      expect(((await drain(peek)).messages[0]?.entry as Entry).sequence).toBe(1);
      expect(factory.opens).toEqual([A, A]);
    });

    it("keeps a node with an open stream, and a node accessed recently", async () => {
      const producing = provider.open(B, encodeMessage({ $type: MessageTypes.produce, space: "s", segment: "g" }));
      await producing.send(encodeMessage({ $type: MessageTypes.recordBatch, records: [{ sequence: 1, payload: new Uint8Array(1) }] }));
      expect(await producing.receive()).toBeDefined();
      await manager.getOrCreate(C);

      await vi.advanceTimersByTimeAsync(600);
      await manager.getOrCreate(C);
      await vi.advanceTimersByTimeAsync(600);
      expect(manager.nodes()).toEqual([
        expect.objectContaining({ storeId: B, openStreams: 1, lastAccess: expect.any(Number) }),
        expect.objectContaining({ storeId: C, openStreams: 0, lastAccess: expect.any(Number) }),
      ]);
      await vi.advanceTimersByTimeAsync(500);
      expect(manager.nodes().map((n) => n.storeId)).toEqual([B]);

      producing.end();
      expect(await drain(producing)).toEqual({ messages: [] });
      await vi.advanceTimersByTimeAsync(1_100);
      expect(manager.nodes()).toEqual([]);
      expect(factory.closes.sort()).toEqual([B, C]);
    });

    it("opens a store again only once its evicted node has closed", async () => {
      await manager.getOrCreate(A);
      const gate = deferred();
      factory.closeGate = gate.promise;
      await vi.advanceTimersByTimeAsync(1_100);
      expect(factory.closes).toEqual([A]);
      const reopened = manager.getOrCreate(A);
      await vi.advanceTimersByTimeAsync(0);
      expect(factory.opens).toEqual([A]);
      gate.resolve();
      expect(await reopened).toMatchObject({ storeId: A });
      expect(factory.opens).toEqual([A, A]);
    });
  });

  describe("remove and close", () => {
    it("remove closes the node and ends its streams with unavailable, even a reader stalled on flow control", async () => {
      const produced = provider.open(A, encodeMessage({ $type: MessageTypes.produce, space: "s", segment: "g" }));
      const records = Array.from({ length: 1000 }, (_, i) => ({ sequence: i + 1, payload: new Uint8Array(8) }));
      for (let i = 0; i < 5; i++) await produced.send(encodeMessage({ $type: MessageTypes.recordBatch, records: records.map((r) => ({ ...r, sequence: r.sequence + i * 1000 })) }));
      produced.end();
      expect((await drain(produced)).messages).toHaveLength(5);

      // A reader that stops reading: its handler waits on flow control until the node closes.
      const reading = provider.open(A, encodeMessage({ $type: MessageTypes.consumeSegment, space: "s", segment: "g" }));
      expect(await reading.receive()).toBeDefined();
      const idle = provider.open(A, encodeMessage({ $type: MessageTypes.produce, space: "s", segment: "h" }));
      await idle.send(encodeMessage({ $type: MessageTypes.recordBatch, records: [{ sequence: 1, payload: new Uint8Array(1) }] }));
      expect(await idle.receive()).toBeDefined();
      expect(manager.nodes()[0]?.openStreams).toBe(2);

      await manager.remove(A);
      expect(manager.nodes()).toEqual([]);
      expect(factory.closes).toEqual([A]);
      expect((await drain(reading)).error).toMatchObject({ kind: "unavailable" });
      expect((await drain(idle)).error).toMatchObject({ kind: "unavailable" });
      await manager.remove(A);
      expect(factory.closes).toEqual([A]);
    });

    it("close is idempotent, closes every node once, and refuses later work with unavailable", async () => {
      await manager.getOrCreate(A);
      await manager.getOrCreate(B);
      await Promise.all([manager.close(), manager.close()]);
      await manager[Symbol.asyncDispose]();
      expect(factory.closes.sort()).toEqual([A, B]);
      expect(await rejection(manager.getOrCreate(A))).toMatchObject({ kind: "unavailable" });
      const stream = provider.open(C, encodeMessage({ $type: MessageTypes.getSpaces }));
      expect((await drain(stream)).error).toMatchObject({ kind: "unavailable" });
      expect(factory.opens.sort()).toEqual([A, B]);
    });

    it("closes a store whose open was in flight when the manager closed", async () => {
      const gate = deferred();
      factory.openGate = gate.promise;
      const opening = rejection(manager.getOrCreate(A));
      const closing = manager.close();
      gate.resolve();
      expect(await opening).toMatchObject({ kind: "unavailable" });
      await closing;
      expect(factory.closes).toEqual([A]);
    });

    it("ends a stream handed over with a principal that lacks access, without touching the node's other streams", async () => {
      const guarded = createInProcProvider({
        handleStream: (storeId: string, stream: ServerStream) => manager.handleStream(storeId, { ...stream, principal: { can: () => false } }),
      });
      const denied = guarded.open(A, encodeMessage({ $type: MessageTypes.getSpaces }));
      const allowed = provider.open(A, encodeMessage({ $type: MessageTypes.getSpaces }));
      expect((await drain(denied)).error).toMatchObject({ kind: "permission_denied" });
      expect((await drain(allowed)).messages).toEqual([{ $type: MessageTypes.names, names: [] }]);
      await guarded.close();
    });
  });
});
