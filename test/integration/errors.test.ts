import { describe, expect, it } from "vitest";
import { type Record, StreamsError, type StreamsClient } from "../../pkg/client/index.js";
import { bytes, collect, failureOf, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

const MiB = 1024 * 1024;

/** Calls the SDK with wrong JS types (the casts are the point). */
type Loose = { [method: string]: (...args: unknown[]) => unknown };
const loose = (client: StreamsClient) => client as unknown as Loose;

describe.each(configurations)("bad input over $name", (configuration) => {
  const harness = useHarness(configuration);

  const badNames: [string, string][] = [
    ["empty", ""],
    ["a control character", "a\u0001b"],
    ["DEL", "a\u007f"],
    ["a C1 control character", "a\u0085"],
    ["a lone surrogate", "a\ud800"],
    ["over 256 bytes", "é".repeat(129)],
    ["the reserved *", "*"],
  ];

  it.each(badNames)("refuses a name that is %s with invalid_argument, storing nothing", async (_why, name) => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const calls: (() => Promise<unknown>)[] = [
      () => client.produce(storeId, name, "g", records(1, 1)),
      () => client.produce(storeId, "s", name, records(1, 1)),
      () => client.publish(storeId, name, "g", bytes("x")),
      () => client.publish(storeId, "s", name, bytes("x")),
      () => client.peek(storeId, "s", name),
      () => client.getSegments(storeId, name),
      () => collect(client.consumeSegment(storeId, { space: name, segment: "g" })),
      () => collect(client.consumeSegment(storeId, { space: "s", segment: name })),
      () => collect(client.consumeSpace(storeId, { space: name })),
      () => collect(client.consume(storeId, { offsets: { [name]: "" } })),
    ];
    for (const call of calls) {
      const error = await failureOf(call);
      expect(error).toBeInstanceOf(StreamsError);
      expect(error).toMatchObject({ kind: "invalid_argument", code: "permanent" });
    }
    expect(await client.getSpaces(storeId)).toEqual([]);
  });

  it("accepts a name of exactly 256 bytes", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const name = "é".repeat(128);
    await client.publish(storeId, name, name, bytes("x"));
    expect(await client.getSegments(storeId, name)).toEqual([name]);
  });

  it.each<[string, (client: StreamsClient, storeId: string) => Promise<unknown>]>([
    ["sequence 0", (c, id) => c.produce(id, "s", "g", [{ sequence: 0, payload: bytes("x") }])],
    ["a negative sequence", (c, id) => c.produce(id, "s", "g", [{ sequence: -1, payload: bytes("x") }])],
    ["a fractional sequence", (c, id) => c.produce(id, "s", "g", [{ sequence: 1.5, payload: bytes("x") }])],
    ["a non-UUID store id to produce", (c) => c.produce("not-a-uuid", "s", "g", records(1, 1))],
    ["a non-UUID store id to peek", (c) => c.peek("not-a-uuid", "s", "g")],
    ["a non-UUID store id to list", (c) => c.getSpaces("")],
    ["a negative limit", (c, id) => collect(c.consumeSegment(id, { space: "s", segment: "g", limit: -1 }))],
    ["a negative space read limit", (c, id) => collect(c.consumeSpace(id, { space: "s", limit: -1 }))],
    ["a negative minSequence", (c, id) => collect(c.consumeSegment(id, { space: "s", segment: "g", minSequence: -1 }))],
    ["a fractional maxTimestamp", (c, id) => collect(c.consumeSpace(id, { space: "s", maxTimestamp: 1.5 }))],
    ["an offset the server never issued", (c, id) => collect(c.consumeSpace(id, { space: "s", offset: "garbage!" }))],
    ["a segment offset for a space read", (c, id) => collect(c.consumeSpace(id, { space: "s", offset: "s1" }))],
    ["an empty offsets map", (c, id) => collect(c.consume(id, { offsets: {} }))],
  ])("answers %s with invalid_argument, storing nothing", async (_why, call) => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    expect(await failureOf(() => call(client, storeId))).toMatchObject({ kind: "invalid_argument" });
    expect(await client.getSpaces(storeId)).toEqual([]);
  });

  it("refuses a later batch with a bad record, keeping earlier batches", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const input: Record[] = [...records(1, 2), { sequence: 0, payload: bytes("x") }];
    expect(await failureOf(() => client.produce(storeId, "s", "g", input, { batchSize: 2 }))).toMatchObject({
      kind: "invalid_argument",
    });
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(2);
  });

  it.each<[string, (client: Loose, storeId: string) => unknown]>([
    ["a store id that is not a string", (c) => c.produce!(42, "s", "g", records(1, 1))],
    ["a space that is not a string", (c, id) => c.publish!(id, 7, "g", bytes("x"))],
    ["a segment that is not a string", (c, id) => c.peek!(id, "s", null)],
    ["records that are not iterable", (c, id) => c.produce!(id, "s", "g", 42)],
    ["records that are a string", (c, id) => c.produce!(id, "s", "g", "abc")],
    ["a record that is not an object", (c, id) => c.produce!(id, "s", "g", [...records(1, 2), 3])],
    ["a record sequence that is a string", (c, id) => c.produce!(id, "s", "g", [{ sequence: "1", payload: bytes("x") }])],
    ["a record payload that is a string", (c, id) => c.produce!(id, "s", "g", [{ sequence: 1, payload: "x" }])],
    ["record metadata that is not strings", (c, id) => c.produce!(id, "s", "g", [{ sequence: 1, payload: bytes("x"), metadata: { a: 1 } }])],
    ["a publish payload that is not bytes", (c, id) => c.publish!(id, "s", "g", "hello")],
    ["publish metadata that is not an object", (c, id) => c.publish!(id, "s", "g", bytes("x"), { metadata: "m" })],
    ["options that are not an object", (c, id) => c.getSpaces!(id, "fast")],
    ["a signal that is not an AbortSignal", (c, id) => c.getStatus!(id, { signal: {} })],
    ["a batchSize of 0", (c, id) => c.produce!(id, "s", "g", records(1, 1), { batchSize: 0 })],
    ["a query that is not an object", (c, id) => c.consumeSegment!(id, "s/g")],
    ["a limit that is a string", (c, id) => c.consumeSegment!(id, { space: "s", segment: "g", limit: "3" })],
    ["follow that is not a boolean", (c, id) => c.consumeSpace!(id, { space: "s", follow: 1 })],
    ["an offset that is a number", (c, id) => c.consumeSpace!(id, { space: "s", offset: 3 })],
    ["offsets that are not strings", (c, id) => c.consume!(id, { offsets: { s: 1 } })],
    ["offsets that are missing", (c, id) => c.consume!(id, {})],
  ])("throws TypeError for %s before sending anything", async (_why, call) => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    expect(await failureOf(() => call(loose(client), storeId))).toBeInstanceOf(TypeError);
    expect(await client.getSpaces(storeId)).toEqual([]);
  });

  it("throws TypeError from consume methods at the call, not on iteration", () => {
    const { client, newStoreId } = harness();
    expect(() => loose(client).consumeSegment!(newStoreId(), { space: 1, segment: "g" })).toThrow(TypeError);
  });

  it("refuses a payload over 6 MiB with resource_exhausted and accepts 6 MiB", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const tooBig = new Uint8Array(6 * MiB + 1);
    const produced = await failureOf(() => client.produce(storeId, "s", "g", [{ sequence: 1, payload: tooBig }]));
    // The request itself is over the limit: retrying it cannot help, so it is permanent.
    expect(produced).toMatchObject({ kind: "resource_exhausted", code: "permanent" });
    expect(await failureOf(() => client.publish(storeId, "s", "g", tooBig))).toMatchObject({ kind: "resource_exhausted", code: "permanent" });
    expect(await client.getSpaces(storeId)).toEqual([]);
    const status = await client.publish(storeId, "s", "g", new Uint8Array(6 * MiB).fill(7));
    expect(status.lastSequence).toBe(1);
    const [entry] = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entry!.payload.byteLength).toBe(6 * MiB);
    expect(entry!.payload.every((byte) => byte === 7)).toBe(true);
  });

  it("fails only the stream that erred: other streams carry on", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3_000));
    const reading = client.consumeSegment(storeId, { space: "s", segment: "g" })[Symbol.asyncIterator]();
    expect((await reading.next()).value).toMatchObject({ sequence: 1 });
    const producing = client.produce(storeId, "s", "h", records(1, 3_000));
    expect(await failureOf(() => client.publish(storeId, "*", "g", bytes("x")))).toMatchObject({ kind: "invalid_argument" });
    expect(await failureOf(() => client.produce(storeId, "s", "g", records(1, 1)))).toMatchObject({ kind: "sequence_conflict" });
    expect(await failureOf(() => client.publish(storeId, "s", "g", new Uint8Array(6 * MiB + 1)))).toMatchObject({
      kind: "resource_exhausted",
    });
    let count = 1;
    for (let next = await reading.next(); next.done !== true; next = await reading.next()) count++;
    expect(count).toBe(3_000);
    expect(await producing).toHaveLength(3);
    expect((await client.peek(storeId, "s", "h")).sequence).toBe(3_000);
  });
});
