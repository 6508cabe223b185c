import { describe, expect, it } from "vitest";
import { bytes, collect, failureOf, text, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

/**
 * The SDK numbers a producer identity's publishes from 0 in each client (docs/protocol.md, Idempotent
 * publish), so a second client — or a restarted one — with the same `{id, epoch}` sends sequences
 * already stored. Its new data must be refused, loudly, not answered "already stored" and lost.
 */
describe.each(configurations)("a producer identity reused by a second client over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("refuses the second client's different publishes, naming producer, epoch and sequence", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const producer = { id: "orders-writer", epoch: 3 };
    await client.publish(storeId, "s", "g", bytes("first-0"), { producer });
    await client.publish(storeId, "s", "g", bytes("first-1"), { producer });

    const second = connect();
    const refused = await failureOf(() => second.publish(storeId, "s", "g", bytes("second-0"), { producer }));
    expect(refused).toMatchObject({
      kind: "failed_precondition",
      code: "permanent",
      message: expect.stringMatching(/publish 0 of producer orders-writer \(epoch 3\) differs from the publish stored at sequence 1/),
      details: { producer: "orders-writer", epoch: 3, sequence: 0, storedAt: 1 },
    });
    // With a new epoch, as the contract asks of a restarted producer, its publishes are stored.
    expect((await second.publish(storeId, "s", "g", bytes("second-1"), { producer: { ...producer, epoch: 4 } })).lastSequence).toBe(3);
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((entry) => text(entry.payload))).toEqual(["first-0", "first-1", "second-1"]);
  });
});
