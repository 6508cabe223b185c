import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { StreamsError } from "../api/index.js";
import { createNodeManager } from "../server/index.js";
import type { NodeManager } from "../server/types.js";
import { abortListenerCount, onAbort } from "./abort-listeners.js";
import { createClient, type StreamsClient } from "./index.js";

const CONSUMERS = 50;
const storeId = "00000000-0000-4000-8000-0000000000ab";
const listeners = (signal: AbortSignal): number => getEventListeners(signal, "abort").length;

/** Collects process warnings; `settled` waits for the ones already emitted (they go out on nextTick). */
function watchWarnings() {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on("warning", onWarning);
  return {
    leaks: () => warnings.filter((warning) => warning.name === "MaxListenersExceededWarning"),
    settled: () => new Promise<void>((resolve) => setImmediate(resolve)),
    stop: () => process.off("warning", onWarning),
  };
}

describe("onAbort", () => {
  it("adds one listener to the signal for any number of callers and removes it with the last", () => {
    const controller = new AbortController();
    const releases = Array.from({ length: CONSUMERS }, () => onAbort(controller.signal, () => undefined));
    expect(listeners(controller.signal)).toBe(1);
    expect(abortListenerCount(controller.signal)).toBe(CONSUMERS);
    for (const release of releases) {
      release();
      release(); // idempotent
    }
    expect(listeners(controller.signal)).toBe(0);
    expect(abortListenerCount(controller.signal)).toBe(0);
  });

  it("runs every callback still listening once, in order, when the signal aborts", () => {
    const controller = new AbortController();
    const ran: number[] = [];
    onAbort(controller.signal, () => ran.push(1));
    const released = onAbort(controller.signal, () => ran.push(2));
    onAbort(controller.signal, () => ran.push(3));
    released();
    controller.abort();
    controller.abort();
    expect(ran).toEqual([1, 3]);
    expect(listeners(controller.signal)).toBe(0);
    onAbort(controller.signal, () => ran.push(4));
    expect(ran).toEqual([1, 3]);
  });
});

describe("one AbortSignal shared by many SDK calls", () => {
  let manager: NodeManager;
  let client: StreamsClient;
  let warnings: ReturnType<typeof watchWarnings>;

  beforeEach(() => {
    manager = createNodeManager({ storeFactory: createMemoryStoreFactory() });
    client = createClient(createInProcProvider(manager));
    warnings = watchWarnings();
  });

  afterEach(async () => {
    warnings.stop();
    await client.close();
    await manager.close();
  });

  it(`holds one listener while ${CONSUMERS} follows, publishes and subscriptions run, none after, and never warns`, async () => {
    const { signal } = new AbortController();
    const entries = 20;
    const subscriptions = await Promise.all(
      Array.from({ length: CONSUMERS }, () => client.subscribeToSpace(storeId, "space", () => undefined, { signal })),
    );
    const followers = Array.from({ length: CONSUMERS }, async () => {
      const seen: number[] = [];
      for await (const entry of client.consumeSpace(storeId, { space: "space", follow: true }, { signal })) {
        seen.push(entry.sequence);
        if (seen.length === entries) break;
      }
      return seen;
    });
    await Promise.all(Array.from({ length: entries }, () => client.publish(storeId, "space", "a", new Uint8Array([1]), { signal })));
    const expected = Array.from({ length: entries }, (_, index) => index + 1);
    for (const seen of await Promise.all(followers)) expect(seen).toEqual(expected);
    expect(listeners(signal)).toBe(1); // the subscriptions are still open
    await Promise.all(subscriptions.map((subscription) => subscription.unsubscribe()));
    await Promise.all(Array.from({ length: CONSUMERS }, () => client.getSpaces(storeId, { signal })));
    expect(listeners(signal)).toBe(0);
    expect(abortListenerCount(signal)).toBe(0);
    await warnings.settled();
    expect(warnings.leaks()).toEqual([]);
  });

  it(`cancels all ${CONSUMERS} followers of one signal when it aborts and leaves no listener`, async () => {
    const controller = new AbortController();
    await client.publish(storeId, "idle", "a", new Uint8Array([1]));
    let reading = 0;
    let allReading: () => void = () => undefined;
    const everyoneReads = new Promise<void>((resolve) => (allReading = resolve));
    const followers = Array.from({ length: CONSUMERS }, async () => {
      const iterator = client.consumeSpace(storeId, { space: "idle", follow: true }, { signal: controller.signal });
      for await (const entry of iterator) {
        // Each follower is open and listening once its first entry came; then it waits for more.
        if (entry.sequence === 1 && ++reading === CONSUMERS) allReading();
      }
    });
    await everyoneReads;
    expect(abortListenerCount(controller.signal)).toBe(CONSUMERS);
    expect(listeners(controller.signal)).toBe(1);
    controller.abort(new Error("page closed"));
    const results = await Promise.allSettled(followers);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      const error = (result as PromiseRejectedResult).reason as StreamsError;
      expect(error).toBeInstanceOf(StreamsError);
      expect(error.kind).toBe("cancelled");
    }
    expect(listeners(controller.signal)).toBe(0);
    await warnings.settled();
    expect(warnings.leaks()).toEqual([]);
  });
});
