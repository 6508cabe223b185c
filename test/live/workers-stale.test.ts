import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import type { Bus, BusFactory, BusHandler } from "../../bus/types.js";
import { encodeMessage, MessageTypes, type Provider, StreamsError, type SubscribeWorkersRequest } from "../../pkg/api/internal/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { idsOf, ignore, InventoryRecorder, snapshot } from "./workers-recorder.js";
import { bounded } from "../support/waits.js";

const START = Date.UTC(2026, 0, 1);

/** Timers and the clock are fake; transports and the memory bus run on microtasks, so they keep working. */
const fakeTime = () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  vi.setSystemTime(START);
};

/**
 * A worker stream driven by hand through the provider, so a test decides when keepalives go out.
 * `ended` settles with the error that ended the stream (undefined when it ended normally).
 */
function rawWorker(provider: Provider, storeId: string, fields: Omit<SubscribeWorkersRequest, "$type">) {
  const stream = provider.open(storeId, encodeMessage({ $type: MessageTypes.subscribeWorkers, ...fields }));
  const ended = (async (): Promise<StreamsError | undefined> => {
    try {
      while ((await stream.receive()) !== undefined);
      return undefined;
    } catch (error) {
      return StreamsError.from(error);
    }
  })();
  return {
    keepalive: () => stream.send(encodeMessage({ $type: MessageTypes.workerKeepalive })),
    ended,
    cancel: () => stream.cancel(),
  };
}

interface Instance {
  manager: StoreNodeManager;
  provider: Provider;
  client: StreamsClient;
}

function startInstance(storeFactory: StoreFactory, busFactory: BusFactory, workerStaleMinMs?: number): Instance {
  const manager = createNodeManager({ storeFactory, busFactory, idleEviction: false, workerStaleMinMs });
  const provider = createInProcProvider(manager);
  return { manager, provider, client: createClient(provider) };
}

async function stopInstance(instance: Instance): Promise<void> {
  await instance.client.close();
  await instance.manager.close();
}

/** Advances fake time by `ms`, sending the raw worker's keepalive every `everyMs` on the way. */
async function keepAlive(worker: ReturnType<typeof rawWorker>, ms: number, everyMs: number): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += everyMs) {
    await vi.advanceTimersByTimeAsync(everyMs);
    await worker.keepalive();
  }
}

describe("worker staleness (one instance, fake time)", () => {
  let instance: Instance;
  const storeId = "1f1e0c2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b";

  beforeEach(() => {
    fakeTime();
    instance = startInstance(createMemoryStoreFactory(), createMemoryBusFactory());
  });

  afterEach(async () => {
    await stopInstance(instance);
    vi.useRealTimers();
  });

  it("an SDK worker's keepalives keep it listed, and observers hear nothing of them", async () => {
    const { client } = instance;
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    await using _worker = await client.subscribeWorkers(storeId, { workerId: "steady", keepaliveMs: 5_000 }, ignore);
    await observer.untilIds(["steady"]);

    await vi.advanceTimersByTimeAsync(120_000);
    const now = await snapshot(client, storeId);
    expect(now.workers).toEqual([{ workerId: "steady", since: START, lastSeen: START + 120_000, metadata: {} }]);
    expect(observer.inventories.map(idsOf)).toEqual([[], ["steady"]]);
  });

  it("the SDK sends keepalives every 10 s by default", async () => {
    const { client } = instance;
    await using _worker = await client.subscribeWorkers(storeId, { workerId: "default" }, ignore);
    await vi.advanceTimersByTimeAsync(9_999);
    expect((await snapshot(client, storeId)).workers[0]?.lastSeen).toBe(START);
    await vi.advanceTimersByTimeAsync(1);
    expect((await snapshot(client, storeId)).workers[0]?.lastSeen).toBe(START + 10_000);
  });

  it("without keepalives a worker is stale after 30 s when 3 × its interval is less: removed, observers told, its stream ended", async () => {
    const { client, provider } = instance;
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const silent = rawWorker(provider, storeId, { workerId: "silent", keepaliveMs: 5_000 });
    await observer.untilIds(["silent"]);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(idsOf(await snapshot(client, storeId))).toEqual(["silent"]);
    await vi.advanceTimersByTimeAsync(1);
    await observer.untilIds([]);
    const ended = await bounded(silent.ended, "the stale worker's stream to end");
    expect(ended).toMatchObject({ kind: "deadline_exceeded", code: "transient" });
  });

  it("a worker is stale after 3 × its interval when that exceeds 30 s, counted from its last keepalive", async () => {
    const { client, provider } = instance;
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const slow = rawWorker(provider, storeId, { workerId: "slow", keepaliveMs: 20_000 });
    await observer.untilIds(["slow"]);

    await vi.advanceTimersByTimeAsync(50_000);
    await slow.keepalive();
    await vi.advanceTimersByTimeAsync(59_999);
    expect((await snapshot(client, storeId)).workers).toEqual([{ workerId: "slow", since: START, lastSeen: START + 50_000, metadata: {} }]);
    await vi.advanceTimersByTimeAsync(1);
    await observer.untilIds([]);
    expect(await bounded(slow.ended, "the stale worker's stream to end")).toMatchObject({ kind: "deadline_exceeded" });
  });

  it("a worker naming no interval is counted at 10 s: stale after the 30 s floor", async () => {
    const { client, provider } = instance;
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const unnamed = rawWorker(provider, storeId, { workerId: "unnamed" });
    await observer.untilIds(["unnamed"]);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(idsOf(observer.latest)).toEqual(["unnamed"]);
    await vi.advanceTimersByTimeAsync(1);
    await observer.untilIds([]);
    await bounded(unnamed.ended, "the stale worker's stream to end");
  });
});

describe("worker staleness with a smaller workerStaleMinMs", () => {
  let instance: Instance;
  const storeId = "2f1e0c2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b";

  beforeEach(() => {
    fakeTime();
    instance = startInstance(createMemoryStoreFactory(), createMemoryBusFactory(), 1_000);
  });

  afterEach(async () => {
    await stopInstance(instance);
    vi.useRealTimers();
  });

  it("stale after max(3 × interval, workerStaleMinMs)", async () => {
    const { client, provider } = instance;
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const quick = rawWorker(provider, storeId, { workerId: "quick", keepaliveMs: 100 });
    const paced = rawWorker(provider, storeId, { workerId: "paced", keepaliveMs: 2_000 });
    await observer.untilIds(["paced", "quick"]);

    await vi.advanceTimersByTimeAsync(999);
    expect(idsOf(await snapshot(client, storeId))).toEqual(["paced", "quick"]);
    await vi.advanceTimersByTimeAsync(1);
    await observer.untilIds(["paced"]);
    expect(await bounded(quick.ended, "quick to end")).toMatchObject({ kind: "deadline_exceeded" });

    await vi.advanceTimersByTimeAsync(4_999);
    expect(idsOf(await snapshot(client, storeId))).toEqual(["paced"]);
    await vi.advanceTimersByTimeAsync(1);
    await observer.untilIds([]);
    expect(await bounded(paced.ended, "paced to end")).toMatchObject({ kind: "deadline_exceeded" });
  });
});

/** A bus a test can cut off (nothing goes out, nothing comes in) and restore, which fires onReconnect as a real bus does. */
class SeverableBus implements Bus {
  readonly #inner: Bus;
  readonly #reconnectListeners = new Set<() => void>();
  #severed = false;

  constructor(inner: Bus) {
    this.#inner = inner;
  }

  get connected(): boolean {
    return !this.#severed && this.#inner.connected;
  }

  get stats() {
    return this.#inner.stats;
  }

  publish(route: string, message: Uint8Array): void {
    if (!this.#severed) this.#inner.publish(route, message);
  }

  subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    return this.#inner.subscribe(route, (message) => {
      if (!this.#severed) handler(message);
    });
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  sever(): void {
    this.#severed = true;
  }

  restore(): void {
    this.#severed = false;
    for (const listener of this.#reconnectListeners) listener();
  }
}

describe("worker presence across instances when the bus fails (fake time)", () => {
  const storeId = "3f1e0c2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b";
  let a: Instance;
  let b: Instance;
  let busOfA: SeverableBus;
  let busOfB: SeverableBus;

  beforeEach(() => {
    fakeTime();
    const storeFactory = createMemoryStoreFactory();
    const memory = createMemoryBusFactory();
    busOfA = new SeverableBus(memory());
    busOfB = new SeverableBus(memory());
    a = startInstance(storeFactory, () => busOfA);
    b = startInstance(storeFactory, () => busOfB);
  });

  afterEach(async () => {
    await Promise.all([stopInstance(a), stopInstance(b)]);
    vi.useRealTimers();
  });

  it("keepalives reach the other instance through the bus; without them it expires the worker; when they return, it lists it again", async () => {
    const onB = new InventoryRecorder();
    await using _watch = await b.client.subscribeWorkers(storeId, {}, onB.listener);
    const worker = rawWorker(a.provider, storeId, { workerId: "remote", keepaliveMs: 5_000 });
    await onB.untilIds(["remote"]);

    await keepAlive(worker, 120_000, 5_000);
    const seenByB = (await snapshot(b.client, storeId)).workers[0];
    expect(seenByB?.workerId).toBe("remote");
    // Throttled on the bus to one every third of the 30 s window.
    expect(seenByB?.lastSeen).toBeGreaterThanOrEqual(START + 120_000 - 10_000);
    expect(onB.inventories.map(idsOf)).toEqual([[], ["remote"]]);

    busOfA.sever();
    await keepAlive(worker, 30_000, 5_000);
    await onB.untilIds([]);
    expect(idsOf(await snapshot(a.client, storeId))).toEqual(["remote"]);

    busOfA.restore();
    await onB.untilIds(["remote"]);
    worker.cancel();
    await onB.untilIds([]);
  });

  it("an instance whose bus reconnects learns the workers that joined meanwhile, and they learn its own", async () => {
    const onA = new InventoryRecorder();
    const onB = new InventoryRecorder();
    await using _watchA = await a.client.subscribeWorkers(storeId, {}, onA.listener);
    await using _watchB = await b.client.subscribeWorkers(storeId, {}, onB.listener);

    busOfB.sever();
    await using _onA = await a.client.subscribeWorkers(storeId, { workerId: "joined-on-a" }, ignore);
    await using _onB = await b.client.subscribeWorkers(storeId, { workerId: "joined-on-b" }, ignore);
    await onA.untilIds(["joined-on-a"]);
    await onB.untilIds(["joined-on-b"]);

    busOfB.restore();
    await onA.untilIds(["joined-on-a", "joined-on-b"]);
    await onB.untilIds(["joined-on-a", "joined-on-b"]);
  });
});
