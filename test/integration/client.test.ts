import { describe, expect, it } from "vitest";
import type { StreamsClient } from "../../pkg/client/index.js";
import { bytes, collect, failureOf, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

describe.each(configurations)("client lifecycle over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("reports a connected state until closed", async () => {
    const client = harness().connect();
    const iterable = client.consumeSpace(harness().newStoreId(), { space: "s" });
    expect(await collect(iterable)).toEqual([]);
    expect(client.state).toMatchObject({ status: "connected", reconnects: 0 });
    expect(iterable.state).toEqual({ status: "connected", reconnects: 0, caughtUp: 0 });
    await client.close();
    expect(client.state.status).toBe("closed");
    expect(iterable.state.status).toBe("closed");
  });

  it("closes idempotently, and every later call rejects with unavailable", async () => {
    const client = harness().connect();
    const storeId = harness().newStoreId();
    await client.publish(storeId, "s", "g", bytes("x"));
    await Promise.all([client.close(), client.close()]);
    await client.close();
    const calls: ((c: StreamsClient) => Promise<unknown>)[] = [
      (c) => c.produce(storeId, "s", "g", records(2, 1)),
      (c) => c.produce(storeId, "s", "g", []),
      (c) => c.publish(storeId, "s", "g", bytes("x")),
      (c) => c.peek(storeId, "s", "g"),
      (c) => c.getSpaces(storeId),
      (c) => c.getSegments(storeId, "s"),
      (c) => c.getStatus(storeId),
      (c) => collect(c.consumeSegment(storeId, { space: "s", segment: "g" })),
      (c) => collect(c.consumeSpace(storeId, { space: "s" })),
      (c) => collect(c.consume(storeId, { offsets: { s: "" } })),
    ];
    for (const call of calls) expect(await failureOf(() => call(client))).toMatchObject({ kind: "unavailable", code: "transient" });
    // The data is still there for other clients.
    expect((await harness().client.peek(storeId, "s", "g")).sequence).toBe(1);
  });

  it("ends a read in progress with unavailable when the client closes", async () => {
    const client = harness().connect();
    const storeId = harness().newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3_000));
    const iterator = client.consumeSegment(storeId, { space: "s", segment: "g" })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ sequence: 1 });
    await client.close();
    const error = await failureOf(async () => {
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next());
    });
    expect(error).toMatchObject({ kind: "unavailable" });
  });

  it("closes through Symbol.asyncDispose", async () => {
    const client = harness().connect();
    await client[Symbol.asyncDispose]();
    expect(client.state.status).toBe("closed");
    expect(await failureOf(() => client.getSpaces(harness().newStoreId()))).toMatchObject({ kind: "unavailable" });
  });
});
