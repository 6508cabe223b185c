import { describe, expect, it } from "vitest";
import { StreamsError } from "../../api/index.js";
import { failureOf, records, useHarness } from "../../../test/support/data.js";
import { configurations } from "../../../test/support/matrix.js";

describe.each(configurations)("produce batches in flight over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("stops at the first failed batch: a later batch of the stream that would fit is not committed", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 100));
    // Batch 1 replays 1..100 (a conflict); batch 2 (101..200) alone would fit the head, and reaches
    // the server while batch 1 is being placed.
    const failure = await failureOf(() => client.produce(storeId, "s", "g", records(1, 200), { batchSize: 100 }));
    expect(failure).toBeInstanceOf(StreamsError);
    expect(failure).toMatchObject({ kind: "sequence_conflict", details: { expected: 101, actual: 1 } });
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(100);
  });

  it("acknowledges every batch of a long stream in order", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const statuses = await client.produce(storeId, "s", "g", records(1, 5_000), { batchSize: 50 });
    expect(statuses.map((status) => status.lastSequence)).toEqual(Array.from({ length: 100 }, (_, i) => (i + 1) * 50));
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(5_000);
  });
});
