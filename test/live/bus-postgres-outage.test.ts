import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresBusFactory, type PostgresBus, type PostgresBusFactory } from "../../bus/postgres/index.js";
import { postgres, skipping } from "../support/services.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded, untilConnected } from "../support/waits.js";

const skip = skipping(postgres, "postgres bus outage tests");

/** Resolves at the bus's next `onReconnect` call (set up before causing the reconnect). */
function nextReconnect(bus: PostgresBus): Promise<void> {
  const reconnected = new Promise<void>((resolve) => {
    const stop = bus.onReconnect(() => {
      stop();
      resolve();
    });
  });
  return bounded(reconnected, "onReconnect");
}

/** Records what a handler receives; `receive(n)` waits until n messages arrived. */
class Inbox {
  readonly messages: Buffer[] = [];
  #wake: () => void = () => undefined;
  readonly handler = (message: Uint8Array): void => {
    this.messages.push(Buffer.from(message));
    this.#wake();
  };
  get texts(): string[] {
    return this.messages.map((message) => message.toString());
  }
  receive(count: number): Promise<void> {
    const arrived = new Promise<void>((resolve) => {
      this.#wake = () => {
        if (this.messages.length >= count) resolve();
      };
      this.#wake();
    });
    return bounded(arrived, `${count} messages`);
  }
}

// PostgreSQL is shared with other tests, so the outage is a proxy between the buses and it, cut and restored.
describe.skipIf(skip)("the postgres bus through a PostgreSQL outage", () => {
  let proxy: TcpProxy;
  let factory: PostgresBusFactory;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const target = new URL(postgres.url ?? "");
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    // A short reconnect cap keeps the test quick; the behaviour does not depend on it.
    factory = createPostgresBusFactory({ connectionString: proxy.rewrite(postgres.url ?? ""), channelPrefix: randomUUID(), maxReconnectDelayMs: 100, subscribeTimeoutMs: 500 });
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await proxy[Symbol.asyncDispose]();
  });

  function openBus(): PostgresBus {
    const bus = factory();
    cleanups.push(() => bus.close());
    return bus;
  }

  it("drops publishes at once while PostgreSQL is unreachable, then reconnects, listens again and calls onReconnect", async () => {
    const [publisher, subscriber] = [openBus(), openBus()];
    await Promise.all([untilConnected(publisher, true), untilConnected(subscriber, true)]);
    const early = new Inbox();
    await subscriber.subscribe("orders", early.handler);
    publisher.publish("orders", Buffer.from("before"));
    await early.receive(1);

    proxy.cut();
    await Promise.all([untilConnected(publisher, false), untilConnected(subscriber, false)]);
    const before = publisher.stats;
    for (let i = 0; i < 100; i++) publisher.publish("orders", Buffer.from(`during ${i}`));
    await bounded(publisher.flush(), "flush");
    expect(publisher.stats).toEqual({ published: before.published + 100, dropped: before.dropped + 100 });

    // A subscribe made during the outage resolves, and its route is listened to once PostgreSQL is back.
    const late = new Inbox();
    await bounded(subscriber.subscribe("late", late.handler), "subscribe while PostgreSQL is unreachable");
    // Closing a bus never hangs on an unreachable database.
    const closedWhileDown = factory();
    await bounded(closedWhileDown.close(), "close while PostgreSQL is unreachable");

    const reconnected = nextReconnect(subscriber);
    proxy.restore();
    await reconnected;
    await Promise.all([untilConnected(publisher, true), untilConnected(subscriber, true)]);

    publisher.publish("orders", Buffer.from("after"));
    publisher.publish("late", Buffer.from("late"));
    await Promise.all([early.receive(2), late.receive(1)]);
    expect(early.texts).toEqual(["before", "after"]);
    expect(late.texts).toEqual(["late"]);
  });

  it("lets a bus start while PostgreSQL is unreachable: subscribe resolves, and onReconnect fires once it listens", async () => {
    proxy.cut();
    const bus = openBus();
    const inbox = new Inbox();
    await bounded(bus.subscribe("early", inbox.handler), "subscribe before PostgreSQL ever answered");
    bus.publish("early", Buffer.from("lost"));
    expect(bus.stats).toEqual({ published: 1, dropped: 1 });

    const reconnected = nextReconnect(bus);
    proxy.restore();
    await reconnected;
    await untilConnected(bus, true);
    bus.publish("early", Buffer.from("carried"));
    await inbox.receive(1);
    expect(inbox.texts).toEqual(["carried"]);
  });

  it("carries a message far over NOTIFY's 8000-byte payload limit, whole and in order with small ones", async () => {
    const [publisher, subscriber] = [openBus(), openBus()];
    await Promise.all([untilConnected(publisher, true), untilConnected(subscriber, true)]);
    const inbox = new Inbox();
    await subscriber.subscribe("large", inbox.handler);
    const large = Buffer.alloc(1024 * 1024 + 7, 0x5a);
    publisher.publish("large", Buffer.from("first"));
    publisher.publish("large", large);
    publisher.publish("large", Buffer.from("last"));
    await inbox.receive(3);
    expect(inbox.messages[1]?.equals(large)).toBe(true);
    expect([inbox.texts[0], inbox.texts[2]]).toEqual(["first", "last"]);
  });
});
