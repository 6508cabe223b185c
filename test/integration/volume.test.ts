import { describe, expect, it } from "vitest";
import { collect, records, text, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

const COUNT = 20_000;

describe.each(configurations)("volume over $name", (configuration) => {
  const harness = useHarness(configuration);

  it(`produces and reads back ${COUNT} entries in order`, async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const statuses = await client.produce(storeId, "bulk", "g", records(1, COUNT));
    expect(statuses).toHaveLength(COUNT / 1_000);
    expect(statuses.at(-1)).toMatchObject({ firstSequence: 1, lastSequence: COUNT });

    const segment = await collect(client.consumeSegment(storeId, { space: "bulk", segment: "g" }));
    expect(segment).toHaveLength(COUNT);
    segment.forEach((entry, i) => {
      expect(entry.sequence).toBe(i + 1);
      expect(text(entry.payload)).toBe(`r-${i + 1}`);
    });

    const space = await collect(client.consumeSpace(storeId, { space: "bulk" }));
    expect(space.map((e) => e.sequence)).toEqual(segment.map((e) => e.sequence));
    const resumed = await collect(client.consume(storeId, { offsets: { bulk: space[COUNT / 2 - 1]!.offset } }));
    expect(resumed.map((e) => e.sequence)).toEqual(segment.slice(COUNT / 2).map((e) => e.sequence));
  });
});
