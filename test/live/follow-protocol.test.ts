import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { type ClientStream, decodeAny, encodeMessage, entriesOfGroups, type EntryGroup, MessageTypes, type Request } from "../../pkg/api/internal/index.js";
import { createClient } from "../../pkg/client/index.js";
import { createMemoryBusFactory, createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import type { Bus, BusFactory, BusHandler, BusStats } from "../../bus/types.js";
import { createRedisBusFactory, type RedisBus } from "../../bus/redis/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { records } from "../support/data.js";
import { redis, skipping } from "../support/services.js";
import { untilConnected } from "../support/waits.js";

const STORE = "5b7e2c1a-9d3f-4e8b-a6c5-0f1e2d3c4b5a";
const redisUrl = redis.url;
skipping(redis, "follow across instances over Redis");
const WAIT_MS = 10_000;

/**
 * The real in-memory bus with its subscriptions counted, and a switch that loses deliveries the way
 * a bus outage does (followed by the reconnect listeners firing, as a bus does when it comes back).
 */
class ObservedBus implements Bus {
  readonly changes = new EventEmitter();
  active = 0;
  losing = false;
  readonly #inner: Bus;
  readonly #reconnectListeners = new Set<() => void>();

  constructor(inner: Bus) {
    this.#inner = inner;
  }

  get connected(): boolean {
    return this.#inner.connected;
  }

  get stats(): BusStats {
    return this.#inner.stats;
  }

  publish(route: string, message: Uint8Array): void {
    this.#inner.publish(route, message);
  }

  async subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    const unsubscribe = await this.#inner.subscribe(route, (message) => {
      if (!this.losing) handler(message);
    });
    this.#count(+1);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await unsubscribe();
      this.#count(-1);
    };
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /** The outage is over: deliveries resume and reconnect listeners run. */
  reconnect(): void {
    this.losing = false;
    for (const listener of [...this.#reconnectListeners]) listener();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Resolves once `active` subscriptions are open (bounded). */
  whenActive(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.active !== count) return;
        clearTimeout(timer);
        this.changes.off("change", check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changes.off("change", check);
        reject(new Error(`timed out waiting for ${count} bus subscriptions (have ${this.active})`));
      }, WAIT_MS);
      this.changes.on("change", check);
      check();
    });
  }

  #count(delta: number): void {
    this.active += delta;
    this.changes.emit("change");
  }
}

const managers: StoreNodeManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
});

function observedSystem(): { manager: StoreNodeManager; bus: ObservedBus } {
  const inner = createMemoryBusFactory();
  let bus: ObservedBus | undefined;
  const busFactory: BusFactory = () => (bus = new ObservedBus(inner()));
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), busFactory, idleEviction: false });
  managers.push(manager);
  return { manager, bus: bus as unknown as ObservedBus };
}

type ReadMessage = { kind: "entries"; sequences: number[] } | { kind: "caught_up" };

/** A raw read stream on the in-process transport: the messages exactly as the server sends them. */
function openRead(manager: StoreNodeManager, request: Request) {
  const stream: ClientStream = createInProcProvider(manager).open(STORE, encodeMessage(request));
  stream.end();
  return {
    stream,
    async receive(): Promise<ReadMessage | undefined> {
      const bytes = await stream.receive();
      if (bytes === undefined) return undefined;
      const message = decodeAny(bytes) as { $type: string; groups?: EntryGroup[] };
      if (message.$type === MessageTypes.caughtUp) return { kind: "caught_up" };
      expect(message.$type).toBe(MessageTypes.entries);
      return { kind: "entries", sequences: entriesOfGroups(message.groups ?? []).map((entry) => entry.sequence) };
    },
  };
}

const follow = (fields: object = {}): Request => ({ $type: MessageTypes.consumeSegment, space: "s", segment: "g", follow: true, ...fields });

describe("follow on the wire", () => {
  it("sends the history, caught_up once, then each commit's entries", async () => {
    const { manager } = observedSystem();
    const client = createClient(createInProcProvider(manager));
    await client.produce(STORE, "s", "g", records(1, 3));
    const read = openRead(manager, follow());
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [1, 2, 3] });
    expect(await read.receive()).toEqual({ kind: "caught_up" });
    await client.produce(STORE, "s", "g", records(4, 2));
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [4, 5] });
    await client.publish(STORE, "s", "g", new Uint8Array([6]));
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [6] });
    read.stream.cancel();
    await client.close();
  });

  it("says caught_up at once on an empty segment, and never on a plain read", async () => {
    const { manager } = observedSystem();
    const live = openRead(manager, follow());
    expect(await live.receive()).toEqual({ kind: "caught_up" });
    live.stream.cancel();
    const plain = openRead(manager, follow({ follow: false }));
    expect(await plain.receive()).toBeUndefined();
  });

  it("subscribes before reading history and lets the subscription go however the follow ends", async () => {
    const { manager, bus } = observedSystem();
    const client = createClient(createInProcProvider(manager));
    await client.produce(STORE, "s", "g", records(1, 2));
    // The manager's own routes (workers roll call, instance announcements) stay subscribed throughout.
    const own = bus.active;

    const cancelled = openRead(manager, follow());
    expect(await cancelled.receive()).toEqual({ kind: "entries", sequences: [1, 2] });
    expect(bus.active).toBe(own + 1);
    cancelled.stream.cancel();
    await bus.whenActive(own);

    const limited = openRead(manager, follow({ limit: 3 }));
    expect(await limited.receive()).toEqual({ kind: "entries", sequences: [1, 2] });
    expect(await limited.receive()).toEqual({ kind: "caught_up" });
    await client.produce(STORE, "s", "g", records(3, 1));
    expect(await limited.receive()).toEqual({ kind: "entries", sequences: [3] });
    expect(await limited.receive()).toBeUndefined();
    await bus.whenActive(own);

    const spaces = openRead(manager, { $type: MessageTypes.consume, offsets: { s: "", t: "", u: "" }, follow: true });
    expect(await spaces.receive()).toEqual({ kind: "entries", sequences: [1, 2, 3] });
    expect(await spaces.receive()).toEqual({ kind: "caught_up" });
    expect(bus.active).toBe(own + 3);
    await manager.remove(STORE);
    await expect(spaces.stream.receive()).rejects.toMatchObject({ kind: "unavailable" });
    await bus.whenActive(own);

    // A broken loop in the SDK lets go too.
    for await (const _entry of client.consumeSegment(STORE, { space: "s", segment: "g", follow: true })) break;
    await bus.whenActive(own);
    await client.close();
  });

  it("reads everything missed during a bus outage once the bus reconnects", async () => {
    const { manager, bus } = observedSystem();
    const client = createClient(createInProcProvider(manager));
    const read = openRead(manager, follow());
    expect(await read.receive()).toEqual({ kind: "caught_up" });
    bus.losing = true;
    await client.produce(STORE, "s", "g", records(1, 4));
    await client.produce(STORE, "s", "g", records(5, 1));
    bus.reconnect();
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [1, 2, 3, 4, 5] });
    read.stream.cancel();
    await client.close();
  });

  it("follows commits made through another server instance sharing the store and the bus", async () => {
    const storeFactory = createMemoryStoreFactory();
    const busFactory = createMemoryBusFactory();
    const [one, two] = [0, 1].map(() => createNodeManager({ storeFactory, busFactory, idleEviction: false }));
    managers.push(one!, two!);
    const writer = createClient(createInProcProvider(two!));
    await writer.produce(STORE, "s", "g", records(1, 2));
    const read = openRead(one!, follow());
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [1, 2] });
    expect(await read.receive()).toEqual({ kind: "caught_up" });
    await writer.produce(STORE, "s", "g", records(3, 3));
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [3, 4, 5] });
    read.stream.cancel();
    await writer.close();
  });
});

describe.skipIf(redisUrl === undefined)("follow across instances over Redis", () => {
  it("follows commits made through another instance, each instance with its own Redis connection", async () => {
    const storeFactory = createMemoryStoreFactory();
    const channelPrefix = `streamkit-test:${randomUUID()}:`;
    const buses: RedisBus[] = [];
    const busFactory = (): RedisBus => {
      const bus = createRedisBusFactory({ url: redisUrl ?? "", channelPrefix })();
      buses.push(bus);
      return bus;
    };
    const [one, two] = [0, 1].map(() => createNodeManager({ storeFactory, busFactory, idleEviction: false }));
    managers.push(one!, two!);
    // Started connected, so the follow's history read and live path are the ones checked (a commit made while
    // the writer's bus connects is announced later: test/live/bus-writer-gap.test.ts).
    await Promise.all(buses.map((bus) => untilConnected(bus, true)));
    const writer = createClient(createInProcProvider(two!));
    await writer.produce(STORE, "s", "g", records(1, 2));
    const read = openRead(one!, follow());
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [1, 2] });
    expect(await read.receive()).toEqual({ kind: "caught_up" });
    await writer.produce(STORE, "s", "g", records(3, 3));
    expect(await read.receive()).toEqual({ kind: "entries", sequences: [3, 4, 5] });
    read.stream.cancel();
    await writer.close();
  });
});
