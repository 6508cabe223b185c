import assert from "node:assert/strict";
import { type SuiteRunner, suiteOf } from "../../store/conformance/runner.js";
import { StreamsError } from "../../pkg/api/index.js";
import type { Bus } from "../types.js";

export type { SuiteRunner, TestBody } from "../../store/conformance/runner.js";

/**
 * How the conformance suite gets at a bus implementation. Every test starts from `createFactory`,
 * closes every bus it opened, and ends with `disposeFactory`.
 */
export interface BusHarness<B extends Bus = Bus> {
  /** Why the suite cannot run here: printed, and every test is skipped. Undefined to run it. */
  readonly skip?: string | undefined;
  /** A factory whose buses see no messages but each other's. */
  createFactory(): Promise<() => B>;
  /** Resolves once a bus the factory just made can carry messages. Default: at once. */
  connected?(bus: B): Promise<void>;
  /** Frees what `createFactory` made. Default: nothing to free. */
  disposeFactory?(factory: () => B): Promise<void>;
}

/** The longest any test waits for a message. */
const WAIT_MS = 5_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
/** A copy as a plain Uint8Array, whatever subclass (Buffer) a bus hands its handlers. */
const plain = (message: Uint8Array): Uint8Array => Uint8Array.from(message);
/** Hex, so large payloads compare quickly and differences print readably. */
const hex = (message: Uint8Array): string => Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString("hex");

/** Records what a handler receives; a test waits, with a bound, until enough has arrived. */
class Inbox {
  readonly messages: Uint8Array[] = [];
  #wake: (() => void) | undefined;

  readonly handler = (message: Uint8Array): void => {
    this.messages.push(plain(message));
    this.#wake?.();
  };

  get texts(): string[] {
    return this.messages.map((message) => decoder.decode(message));
  }

  /** Resolves once `count` messages arrived; fails after WAIT_MS saying what was missing. */
  async receive(count: number): Promise<void> {
    if (this.messages.length >= count) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#wake = () => {
          if (this.messages.length >= count) resolve();
        };
        timer = setTimeout(() => reject(new Error(`waited ${WAIT_MS} ms for ${count} messages, got ${this.messages.length}`)), WAIT_MS);
      });
    } finally {
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }
}

/** Deterministic bytes covering every value, so a test run is repeatable. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/**
 * The bus contract (docs/design.md, Buses), run against one implementation under the given runner:
 * `runBusConformance({ describe, it, beforeEach, afterEach }, "name", harness)` in a test file of
 * vitest, node:test or mocha. Buses of one factory stand for several servers: they see each other's
 * messages.
 * Where a test must show that something was NOT delivered, it publishes a marker afterwards from the
 * same bus and waits for it: a bus delivers one publisher's messages in publish order (across routes
 * too, as one connection carries them), and hands each message to all of a bus's handlers at once.
 */
export function runBusConformance<B extends Bus>(runner: SuiteRunner, name: string, harness: BusHarness<B>): void {
  const { describeIf, it, beforeEach, afterEach } = suiteOf(runner);
  if (harness.skip !== undefined) console.log(`bus conformance "${name}" skipped: ${harness.skip}`);

  describeIf(harness.skip === undefined)(`bus conformance: ${name}`, () => {
    let factory: () => B;
    let buses: B[];

    beforeEach(async () => {
      factory = await harness.createFactory();
      buses = [];
    });

    afterEach(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
      await harness.disposeFactory?.(factory);
    });

    /** A bus of the factory ("a server"), ready to carry messages. */
    async function open(): Promise<B> {
      const bus = factory();
      buses.push(bus);
      await harness.connected?.(bus);
      return bus;
    }

    it("delivers a message to every subscriber of its route and to no other route", async () => {
      const publisher = await open();
      const subscriber = await open();
      const [here, there, longer, shorter, patternLike] = [new Inbox(), new Inbox(), new Inbox(), new Inbox(), new Inbox()];
      await publisher.subscribe("t.orders", here.handler);
      await subscriber.subscribe("t.orders", there.handler);
      await subscriber.subscribe("t.orders.x", longer.handler);
      await subscriber.subscribe("t.order", shorter.handler);
      await subscriber.subscribe("t.*", patternLike.handler);

      publisher.publish("t.orders", bytes("m1"));
      publisher.publish("t.orders.x", bytes("marker"));
      await Promise.all([here.receive(1), there.receive(1), longer.receive(1)]);

      assert.deepStrictEqual(here.texts, ["m1"]);
      assert.deepStrictEqual(there.texts, ["m1"]);
      assert.deepStrictEqual(longer.texts, ["marker"]);
      assert.deepStrictEqual(shorter.texts, []);
      assert.deepStrictEqual(patternLike.texts, []);
    });

    it("calls every handler of a route once per message, including one function subscribed twice", async () => {
      const publisher = await open();
      const subscriber = await open();
      const [first, second] = [new Inbox(), new Inbox()];
      await subscriber.subscribe("t.shared", first.handler);
      await subscriber.subscribe("t.shared", second.handler);
      await subscriber.subscribe("t.shared", second.handler);

      for (const text of ["a", "b", "c"]) publisher.publish("t.shared", bytes(text));
      await Promise.all([first.receive(3), second.receive(6)]);

      assert.deepStrictEqual(first.texts, ["a", "b", "c"]);
      assert.deepStrictEqual(second.texts, ["a", "a", "b", "b", "c", "c"]);
    });

    it("stops calling an unsubscribed handler and keeps the route's other handlers", async () => {
      const publisher = await open();
      const subscriber = await open();
      const [leaving, staying] = [new Inbox(), new Inbox()];
      const unsubscribe = await subscriber.subscribe("t.route", leaving.handler);
      await subscriber.subscribe("t.route", staying.handler);
      publisher.publish("t.route", bytes("before"));
      await Promise.all([leaving.receive(1), staying.receive(1)]);

      await unsubscribe();
      await unsubscribe();
      publisher.publish("t.route", bytes("after"));
      await staying.receive(2);

      assert.deepStrictEqual(leaving.texts, ["before"]);
      assert.deepStrictEqual(staying.texts, ["before", "after"]);
    });

    it("stops delivering a route whose last handler unsubscribed, and delivers it again to a new handler", async () => {
      const publisher = await open();
      const subscriber = await open();
      const [gone, barrier, returning] = [new Inbox(), new Inbox(), new Inbox()];
      const unsubscribe = await subscriber.subscribe("t.route", gone.handler);
      await subscriber.subscribe("t.barrier", barrier.handler);

      await unsubscribe();
      publisher.publish("t.route", bytes("lost"));
      publisher.publish("t.barrier", bytes("marker 1"));
      await barrier.receive(1);
      assert.deepStrictEqual(gone.texts, []);

      await subscriber.subscribe("t.route", returning.handler);
      publisher.publish("t.route", bytes("back"));
      publisher.publish("t.barrier", bytes("marker 2"));
      await Promise.all([returning.receive(1), barrier.receive(2)]);
      assert.deepStrictEqual(returning.texts, ["back"]);
      assert.deepStrictEqual(gone.texts, []);
    });

    it("keeps each publisher's order: 1,000 messages from each of two publishers arrive in order", async () => {
      const count = 1_000;
      const subscriberBus = await open();
      const publishers = [await open(), await open()];
      const inbox = new Inbox();
      await subscriberBus.subscribe("t.ordered", inbox.handler);

      for (let i = 0; i < count; i++) {
        publishers.forEach((publisher, p) => publisher.publish("t.ordered", bytes(`${p}:${i}`)));
      }
      await inbox.receive(count * publishers.length);

      publishers.forEach((publisher, p) => {
        const received = inbox.texts.filter((text) => text.startsWith(`${p}:`)).map((text) => Number(text.slice(`${p}:`.length)));
        assert.deepStrictEqual(received, Array.from({ length: count }, (_, i) => i));
        assert.deepStrictEqual(publisher.stats, { published: count, dropped: 0 });
      });
    });

    it("lets two buses of one factory see each other's messages, and their own, both ways", async () => {
      const [left, right] = [await open(), await open()];
      const [atLeft, atRight] = [new Inbox(), new Inbox()];
      await left.subscribe("t.both", atLeft.handler);
      await right.subscribe("t.both", atRight.handler);

      left.publish("t.both", bytes("from left"));
      right.publish("t.both", bytes("from right"));
      await Promise.all([atLeft.receive(2), atRight.receive(2)]);

      // Messages from different publishers have no order between them.
      assert.deepStrictEqual(atLeft.texts.sort(), ["from left", "from right"]);
      assert.deepStrictEqual(atRight.texts.sort(), ["from left", "from right"]);
    });

    it("carries payload bytes exactly: empty, zeros, every byte value, views into larger buffers, 64 KiB", async () => {
      const publisher = await open();
      const subscriber = await open();
      const inbox = new Inbox();
      await subscriber.subscribe("t.binary", inbox.handler);
      const backing = pseudoRandomBytes(100, 7);
      const payloads = [
        new Uint8Array(0),
        new Uint8Array([0]),
        new Uint8Array(16),
        Uint8Array.from({ length: 256 }, (_, i) => 255 - i),
        backing.subarray(3, 40),
        pseudoRandomBytes(64 * 1024, 42),
      ];

      for (const payload of payloads) publisher.publish("t.binary", payload);
      await inbox.receive(payloads.length);

      assert.deepStrictEqual(inbox.messages.map(hex), payloads.map(hex));
    });

    it("delivers what was published, not what the publisher's buffer holds later", async () => {
      const publisher = await open();
      const subscriber = await open();
      const inbox = new Inbox();
      await subscriber.subscribe("t.reused", inbox.handler);
      const array = bytes("original array");
      const buffer = Buffer.from("original buffer");

      publisher.publish("t.reused", array);
      publisher.publish("t.reused", buffer);
      array.fill(0x21);
      buffer.fill(0x21);
      await inbox.receive(2);

      assert.deepStrictEqual(inbox.texts, ["original array", "original buffer"]);
    });

    it("isolates a throwing handler from the route's other handlers and from the publisher", async () => {
      const publisher = await open();
      const subscriber = await open();
      const inbox = new Inbox();
      await subscriber.subscribe("t.faulty", () => {
        throw new Error("handler failure");
      });
      await subscriber.subscribe("t.faulty", inbox.handler);

      assert.doesNotThrow(() => publisher.publish("t.faulty", bytes("one")));
      publisher.publish("t.faulty", bytes("two"));
      await inbox.receive(2);

      assert.deepStrictEqual(inbox.texts, ["one", "two"]);
    });

    it("refuses arguments of the wrong kind with a TypeError: empty or non-string routes, non-functions, non-bytes", async () => {
      const bus = await open();
      await assert.rejects(bus.subscribe("", () => undefined), TypeError);
      await assert.rejects(bus.subscribe(7 as unknown as string, () => undefined), TypeError);
      await assert.rejects(bus.subscribe("t.route", "handler" as unknown as () => void), TypeError);
      assert.throws(() => bus.publish("", bytes("x")), TypeError);
      assert.throws(() => bus.publish("t.route", "x" as unknown as Uint8Array), TypeError);
      assert.throws(() => bus.onReconnect(null as unknown as () => void), TypeError);
      // Nothing was counted as published.
      assert.deepStrictEqual(bus.stats, { published: 0, dropped: 0 });
    });

    it("closes idempotently; afterwards publish neither throws nor delivers and counts a drop, subscribe is unavailable", async () => {
      const closing = await open();
      const peer = await open();
      const [atClosing, atPeer] = [new Inbox(), new Inbox()];
      await closing.subscribe("t.closed", atClosing.handler);
      await peer.subscribe("t.closed", atPeer.handler);
      assert.strictEqual(closing.connected, true);

      await Promise.all([closing.close(), closing.close()]);
      await closing.close();
      assert.strictEqual(closing.connected, false);

      const before = closing.stats;
      assert.doesNotThrow(() => closing.publish("t.closed", bytes("after close")));
      assert.deepStrictEqual(closing.stats, { published: before.published + 1, dropped: before.dropped + 1 });
      await assert.rejects(closing.subscribe("t.closed", atClosing.handler), (error: unknown) => error instanceof StreamsError && error.kind === "unavailable");

      peer.publish("t.closed", bytes("marker"));
      await atPeer.receive(1);
      assert.deepStrictEqual(atPeer.texts, ["marker"]);
      assert.deepStrictEqual(atClosing.texts, []);
    });
  });
}
