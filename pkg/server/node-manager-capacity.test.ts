import { afterEach, describe, expect, it, vi } from "vitest";
import { type ClientStream, decodeAny, encodeMessage, MessageTypes, type Provider, StreamsError } from "../api/internal/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { Store, StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { defaultMaxOpenStores, MAX_DEFAULT_OPEN_STORES } from "./descriptors.js";
import { createNodeManager, type StoreNodeManager } from "./node-manager.js";
import type { NodeManagerOptions } from "./options.js";

const A = "0a0a0a0a-0000-4000-8000-00000000000a";
const B = "0b0b0b0b-0000-4000-8000-00000000000b";
const C = "0c0c0c0c-0000-4000-8000-00000000000c";

/** The memory factory, observed: opens and closes in order, and a gate that holds closes. */
class ObservedFactory implements StoreFactory {
  readonly opens: string[] = [];
  readonly closes: string[] = [];
  closeGate: Promise<void> | undefined;
  readonly #memory = createMemoryStoreFactory();
  constructor(readonly descriptorsPerStore = 0) {}

  async open(storeId: string): Promise<Store> {
    this.opens.push(storeId);
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

/** A produce stream left open after its first commit: its node is busy until the stream ends. */
async function busyStream(provider: Provider, storeId: string): Promise<ClientStream> {
  const stream = provider.open(storeId, encodeMessage({ $type: MessageTypes.produce, space: "s", segment: "g" }));
  await stream.send(encodeMessage({ $type: MessageTypes.recordBatch, records: [{ sequence: 1, payload: new Uint8Array(1) }] }));
  expect(await stream.receive()).toBeDefined();
  return stream;
}

async function drainStream(stream: ClientStream): Promise<StreamsError | undefined> {
  try {
    while ((await stream.receive()) !== undefined);
    return undefined;
  } catch (error) {
    return error as StreamsError;
  }
}

describe("NodeManager maxOpenStores", () => {
  let factory: ObservedFactory;
  let manager: StoreNodeManager;
  let provider: Provider;

  function start(options: Partial<NodeManagerOptions> = {}): void {
    factory = new ObservedFactory();
    manager = createNodeManager({ storeFactory: factory, idleEviction: false, maxOpenStores: 2, ...options });
    provider = createInProcProvider(manager);
  }

  afterEach(async () => {
    await provider.close();
    await manager.close();
    vi.useRealTimers();
  });

  it("evicts the least recently used idle node to open another, and the store comes back with its data", async () => {
    start();
    const publish = provider.open(A, encodeMessage({ $type: MessageTypes.publish, space: "s", segment: "g", payload: new Uint8Array([7]) }));
    expect(await drainStream(publish)).toBeUndefined();
    await manager.getOrCreate(B);
    await manager.getOrCreate(A); // A is now the most recently used
    await manager.getOrCreate(C);
    expect(factory.closes).toEqual([B]);
    expect(manager.nodes().map((node) => node.storeId)).toEqual([A, C]);
    expect(manager.openStores()).toEqual({ openStores: 2, maxOpenStores: 2, waiting: 0 });

    await manager.getOrCreate(B);
    await manager.getOrCreate(A.toUpperCase());
    expect(factory.closes).toEqual([B, A, C]);
    const peek = provider.open(A, encodeMessage({ $type: MessageTypes.peek, space: "s", segment: "g" }));
    const answer = decodeAny((await peek.receive()) as Uint8Array) as { entry: { sequence: number } };
    expect(answer.entry.sequence).toBe(1);
  });

  it("never evicts a node with an open stream: when every open node is busy, a new store is resource_exhausted with retryAfterMs", async () => {
    start({ maxOpenStores: 1, busyRetryAfterMs: 250 });
    const busy = await busyStream(provider, A);
    const refused = await rejection(manager.getOrCreate(B));
    expect(refused).toMatchObject({ kind: "resource_exhausted", code: "transient", retryAfterMs: 250 });
    const stream = provider.open(B, encodeMessage({ $type: MessageTypes.getSpaces }));
    expect(await drainStream(stream)).toMatchObject({ kind: "resource_exhausted", retryAfterMs: 250 });
    expect(factory.opens).toEqual([A]);
    expect(factory.closes).toEqual([]);

    busy.end();
    expect(await drainStream(busy)).toBeUndefined();
    expect(await manager.getOrCreate(B)).toMatchObject({ storeId: B });
    expect(factory.closes).toEqual([A]);
  });

  it("counts a node that is still closing: the next store opens only once it has closed", async () => {
    start({ maxOpenStores: 2 });
    await manager.getOrCreate(A);
    await manager.getOrCreate(B);
    const gate = deferred();
    factory.closeGate = gate.promise;
    const opened = manager.getOrCreate(C);
    await new Promise((resolve) => setImmediate(resolve));
    expect(factory.closes).toEqual([A]);
    expect(factory.opens).toEqual([A, B]);
    expect(manager.openStores()).toEqual({ openStores: 2, maxOpenStores: 2, waiting: 1 });
    // A is owed to C; nothing else is idle but B, so a fourth store evicts B and waits too.
    const fourth = "0d0d0d0d-0000-4000-8000-00000000000d";
    const alsoWaiting = manager.getOrCreate(fourth);
    await new Promise((resolve) => setImmediate(resolve));
    expect(factory.closes).toEqual([A, B]);
    // Every slot is now owed: one more store is refused rather than queued without bound.
    expect((await rejection(manager.getOrCreate(A))).kind).toBe("resource_exhausted");
    gate.resolve();
    expect(await opened).toMatchObject({ storeId: C });
    expect(await alsoWaiting).toMatchObject({ storeId: fourth });
    expect(factory.opens).toEqual([A, B, C, fourth]);
    expect(manager.openStores()).toEqual({ openStores: 2, maxOpenStores: 2, waiting: 0 });
  });

  it("a refused open does not hold a circuit's trial: the next caller gets it", async () => {
    start({ maxOpenStores: 1, circuitBreaker: { failureThreshold: 1, openMs: 1 } });
    const busy = await busyStream(provider, A);
    expect((await rejection(manager.getOrCreate(B))).kind).toBe("resource_exhausted");
    busy.end();
    await drainStream(busy);
    expect(await manager.getOrCreate(B)).toMatchObject({ storeId: B });
  });

  it("gives the slot of an idle-evicted node back (fake timers)", async () => {
    vi.useFakeTimers();
    start({ maxOpenStores: 1, idleEviction: { idleTtlMs: 1_000, checkIntervalMs: 100 } });
    await manager.getOrCreate(A);
    expect(manager.openStores().openStores).toBe(1);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(manager.openStores().openStores).toBe(0);
    expect(factory.closes).toEqual([A]);
    await manager.getOrCreate(B);
    expect(factory.closes).toEqual([A]);
  });

  it("rejects a bad maxOpenStores with TypeError", () => {
    const storeFactory = new ObservedFactory();
    for (const maxOpenStores of [0, -1, 1.5]) expect(() => createNodeManager({ storeFactory, maxOpenStores })).toThrow(TypeError);
    expect(() => createNodeManager({ storeFactory: new ObservedFactory(-1) })).toThrow(TypeError);
  });

  it("derives the default from the descriptor limit and what one store holds", async () => {
    expect(defaultMaxOpenStores(1024, 8)).toBe(64);
    expect(defaultMaxOpenStores(1_048_576, 8)).toBe(MAX_DEFAULT_OPEN_STORES);
    expect(defaultMaxOpenStores(1024, 0)).toBe(MAX_DEFAULT_OPEN_STORES);
    expect(defaultMaxOpenStores(4, 8)).toBe(1);
    expect(defaultMaxOpenStores(undefined, 8)).toBe(MAX_DEFAULT_OPEN_STORES);
    const managed = createNodeManager({ storeFactory: new ObservedFactory(0) });
    expect(managed.openStores().maxOpenStores).toBe(MAX_DEFAULT_OPEN_STORES);
    await managed.close();
  });
});
