import { describe, expect, it } from "vitest";
import { bytes, collect, failureOf, text, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

/**
 * Metadata keys starting with `ds.` are the server's (docs/protocol.md, Idempotent publish): a client's
 * produce or publish that sets one is refused, so no plain write can pose as a producer's stamped
 * publish and have that producer's real publishes answered "already stored" or fenced, nor forge the
 * HTTP gateway's close marker or `Stream-Seq` mark on a stream's segment (docs/http.md).
 */
const RESERVED = { "ds.producer": "orders-writer", "ds.epoch": "0", "ds.seq": "0" } as const;
const GATEWAY = { "ds.close": "", "ds.stream-seq": "zzz", "ds.anything-later": "x" } as const;

describe.each(configurations)("reserved producer metadata over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("refuses a produce, a publish and a stamped publish that set a reserved key, and stores nothing", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    for (const [key, value] of Object.entries({ ...RESERVED, ...GATEWAY })) {
      const metadata = { kind: "copy", [key]: value };
      const produced = await failureOf(() => client.produce(storeId, "s", "g", [{ sequence: 1, payload: bytes("p"), metadata }]));
      expect(produced).toMatchObject({ kind: "invalid_argument", message: expect.stringContaining(`records[0].metadata.${key}: is reserved`) });
      const published = await failureOf(() => client.publish(storeId, "s", "g", bytes("p"), { metadata }));
      expect(published).toMatchObject({ kind: "invalid_argument", message: expect.stringContaining(key) });
      const stamped = await failureOf(() => client.publish(storeId, "s", "g", bytes("p"), { metadata, producer: { id: "other", epoch: 0 } }));
      expect(stamped).toMatchObject({ kind: "invalid_argument", message: expect.stringContaining(key) });
    }
    expect(await client.getSegments(storeId, "s")).toEqual([]);
  });

  it("takes keys that only look like the prefix", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const metadata = { "ds": "a", "ds-close": "b", "DS.close": "c", "x.ds.close": "d" };
    const status = await client.publish(storeId, "s", "g", bytes("p"), { metadata });
    expect(status.lastSequence).toBe(1);
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries[0]?.metadata).toEqual(metadata);
  });

  it("keeps a producer's publishes from being answered by a forged stamp", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await failureOf(() => client.publish(storeId, "s", "g", bytes("forged"), { metadata: { ...RESERVED } }));
    // Without the forgery stored, the producer's first publish is its own, stored and not "already stored".
    const status = await client.publish(storeId, "s", "g", bytes("real"), { producer: { id: "orders-writer", epoch: 0 } });
    expect(status.lastSequence).toBe(1);
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((entry) => text(entry.payload))).toEqual(["real"]);
    expect(entries[0]?.metadata).toEqual(RESERVED);
  });
});
