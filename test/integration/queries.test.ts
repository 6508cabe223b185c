import { describe, expect, it } from "vitest";
import { bytes, collect, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

describe.each(configurations)("peek, listings and status over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("peeks an empty segment as the placeholder entry", async () => {
    const { client, newStoreId } = harness();
    const entry = await client.peek(newStoreId(), "s", "empty");
    expect(entry).toStrictEqual({
      space: "s",
      segment: "empty",
      sequence: 0,
      timestamp: 0,
      payload: new Uint8Array(0),
      metadata: {},
      offset: "",
    });
  });

  it("peeks the latest entry, equal to its copy in a read", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 3));
    await client.publish(storeId, "s", "g", bytes("last"), { metadata: { k: "v" } });
    const latest = await client.peek(storeId, "s", "g");
    expect(latest).toMatchObject({ space: "s", segment: "g", sequence: 4, metadata: { k: "v" } });
    expect(latest.payload).toEqual(bytes("last"));
    const read = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(latest).toStrictEqual(read[3]);
    // Its offset resumes a segment read after it.
    expect(await collect(client.consumeSegment(storeId, { space: "s", segment: "g", offset: latest.offset }))).toEqual([]);
  });

  it("lists spaces and segments sorted by code point", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    // UTF-16 order would put the emoji (a surrogate pair) before U+FFFF; code point order does not.
    const names = ["b", "a", "B", "é", "😀", "\uffff", "a-1", "Z"];
    const segmentsStoreId = newStoreId();
    for (const name of names) await client.publish(storeId, name, "g", bytes("x"));
    for (const name of names) await client.publish(segmentsStoreId, "one", name, bytes("x"));
    const expected = ["B", "Z", "a", "a-1", "b", "é", "\uffff", "😀"];
    expect(await client.getSpaces(storeId)).toEqual(expected);
    expect(await client.getSegments(segmentsStoreId, "one")).toEqual(expected);
    expect(await client.getSegments(segmentsStoreId, "missing")).toEqual([]);
    expect(await client.getSpaces(newStoreId())).toEqual([]);
  });

  it("reports store status with counts and heads per space, sorted", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "orders", "o-1", records(1, 3));
    await client.produce(storeId, "orders", "o-2", records(1, 2));
    const last = await client.publish(storeId, "audit", "log", bytes("x"));
    const ordersHead = await client.peek(storeId, "orders", "o-2");
    expect(await client.getStatus(storeId)).toStrictEqual({
      storeId,
      spaces: [
        { space: "audit", segmentCount: 1, entryCount: 1, lastTimestamp: last.lastTimestamp },
        { space: "orders", segmentCount: 2, entryCount: 5, lastTimestamp: ordersHead.timestamp },
      ],
    });
    const emptyId = newStoreId();
    expect(await client.getStatus(emptyId)).toStrictEqual({ storeId: emptyId, spaces: [] });
  });

  it("treats store ids case-insensitively and reports them in lower case", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.publish(storeId.toUpperCase(), "s", "g", bytes("x"));
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(1);
    expect((await client.getStatus(storeId.toUpperCase())).storeId).toBe(storeId.toLowerCase());
  });

  it("keeps stores isolated", async () => {
    const { client, newStoreId } = harness();
    const one = newStoreId();
    const two = newStoreId();
    await client.produce(one, "s", "g", records(1, 3));
    await client.produce(two, "s", "g", records(1, 1));
    expect((await client.peek(one, "s", "g")).sequence).toBe(3);
    expect((await client.peek(two, "s", "g")).sequence).toBe(1);
    expect(await collect(client.consumeSpace(two, { space: "s" }))).toHaveLength(1);
    await client.publish(one, "only-in-one", "g", bytes("x"));
    expect(await client.getSpaces(two)).toEqual(["s"]);
  });
});
