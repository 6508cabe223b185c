import { describe, expect, it } from "vitest";
import { type Record, StreamsError, type StreamsClient } from "../../pkg/client/index.js";
import { bytes, collect, failureOf, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

/** Checks the §8 cancellation contract: a `cancelled` StreamsError whose cause is the abort reason. */
function expectCancelled(error: unknown, reason: unknown): void {
  expect(error).toBeInstanceOf(StreamsError);
  expect(error).toMatchObject({ kind: "cancelled", code: "permanent" });
  expect((error as StreamsError).cause).toBe(reason);
}

describe.each(configurations)("cancellation over $name", (configuration) => {
  const harness = useHarness(configuration);

  it.each<[string, (client: StreamsClient, storeId: string, signal: AbortSignal) => Promise<unknown>]>([
    ["produce", (c, id, signal) => c.produce(id, "s", "g", records(1, 3), { signal })],
    ["publish", (c, id, signal) => c.publish(id, "s", "g", bytes("x"), { signal })],
    ["peek", (c, id, signal) => c.peek(id, "s", "g", { signal })],
    ["getSpaces", (c, id, signal) => c.getSpaces(id, { signal })],
    ["getSegments", (c, id, signal) => c.getSegments(id, "s", { signal })],
    ["getStatus", (c, id, signal) => c.getStatus(id, { signal })],
    ["consumeSegment", (c, id, signal) => collect(c.consumeSegment(id, { space: "s", segment: "g" }, { signal }))],
    ["consumeSegment with the signal in the query", (c, id, signal) => collect(c.consumeSegment(id, { space: "s", segment: "g", signal }))],
    ["consumeSpace", (c, id, signal) => collect(c.consumeSpace(id, { space: "s" }, { signal }))],
    ["consume", (c, id, signal) => collect(c.consume(id, { offsets: { s: "" } }, { signal }))],
  ])("rejects %s with an already aborted signal, sending nothing", async (_name, call) => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const reason = new Error("caller gave up");
    expectCancelled(await failureOf(() => call(client, storeId, AbortSignal.abort(reason))), reason);
    expect(await client.getSpaces(storeId)).toEqual([]);
  });

  it("rejects a call in flight when its signal aborts", async () => {
    const { client, newStoreId } = harness();
    const controller = new AbortController();
    const pending = client.getStatus(newStoreId(), { signal: controller.signal });
    controller.abort("stop");
    expectCancelled(await failureOf(() => pending), "stop");
  });

  it("ends a consume loop with cancelled when the signal aborts mid-read", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3_000));
    const controller = new AbortController();
    const reason = new Error("enough");
    let read = 0;
    const error = await failureOf(async () => {
      for await (const _entry of client.consumeSegment(storeId, { space: "s", segment: "g" }, { signal: controller.signal })) {
        if (++read === 10) controller.abort(reason);
      }
    });
    expectCancelled(error, reason);
    expect(read).toBe(10);
  });

  it("rejects a pending next() when the signal aborts", async () => {
    const { client, newStoreId } = harness();
    const controller = new AbortController();
    const iterator = client.consumeSpace(newStoreId(), { space: "s" }, { signal: controller.signal })[Symbol.asyncIterator]();
    const next = iterator.next();
    controller.abort("later");
    expectCancelled(await failureOf(() => next), "later");
  });

  it("stops a produce waiting on its source when the signal aborts: every batch sent answered, it rejects cancelled and the batches stay", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const controller = new AbortController();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* source(): AsyncGenerator<Record> {
      yield* records(1, 2);
      await gate;
      yield* records(3, 1);
    }
    const producing = client.produce(storeId, "s", "g", source(), { signal: controller.signal });
    // Records 1 and 2 go out while the source waits; abort once they are committed.
    for (let polls = 0; (await client.peek(storeId, "s", "g")).sequence < 2; polls++) {
      if (polls > 1_000_000) throw new Error("records 1 and 2 were never committed");
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The batch's status goes out when its commit settles, maybe after a peek sees it: one more round
    // trip, asked after that, comes back behind the status, so nothing sent is unanswered at the abort.
    await client.peek(storeId, "s", "g");
    controller.abort("shutdown");
    expectCancelled(await failureOf(() => producing), "shutdown");
    release();
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(2);
  });

  it("ends quietly on break, and the iterable can be read again", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3_000));
    const iterable = client.consumeSegment(storeId, { space: "s", segment: "g" });
    const firstFive: number[] = [];
    for await (const entry of iterable) {
      firstFive.push(entry.sequence);
      if (firstFive.length === 5) break;
    }
    expect(firstFive).toEqual([1, 2, 3, 4, 5]);
    expect(await collect(iterable)).toHaveLength(3_000);
    // Many abandoned reads leave the client working.
    for (let i = 0; i < 50; i++) {
      for await (const _entry of client.consumeSpace(storeId, { space: "s" })) break;
    }
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(3_000);
  });

  it("leaves other streams alone when one is cancelled", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 2_000));
    const other = collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    const controller = new AbortController();
    const cancelled = collect(client.consumeSegment(storeId, { space: "s", segment: "g" }, { signal: controller.signal }));
    controller.abort("no");
    expectCancelled(await failureOf(() => cancelled), "no");
    expect(await other).toHaveLength(2_000);
  });
});
