import { describe, expect, it } from "vitest";
import { type Record, StreamsError } from "../../pkg/client/index.js";
import { bytes, collect, failureOf, records, text, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

describe.each(configurations)("produce and publish over $name", (configuration) => {
  const harness = useHarness(configuration);

  it("answers one status per committed batch, 1,000 records to a batch by default", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const statuses = await client.produce(storeId, "orders", "o-1", records(1, 2_500));
    expect(statuses.map((s) => s.lastSequence)).toEqual([1_000, 2_000, 2_500]);
    for (const status of statuses) {
      expect(status).toMatchObject({ space: "orders", segment: "o-1", firstSequence: 1 });
      expect(status.lastTimestamp).toBeGreaterThanOrEqual(status.firstTimestamp);
    }
    const entries = await collect(client.consumeSegment(storeId, { space: "orders", segment: "o-1" }));
    expect(entries.map((e) => e.sequence)).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    expect(text(entries[2_499]!.payload)).toBe("r-2500");
  });

  it("honours batchSize and continues a segment from its head", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const first = await client.produce(storeId, "s", "g", records(1, 10), { batchSize: 3 });
    expect(first.map((s) => s.lastSequence)).toEqual([3, 6, 9, 10]);
    const more = await client.produce(storeId, "s", "g", records(11, 2), { batchSize: 3 });
    expect(more).toEqual([expect.objectContaining({ firstSequence: 1, lastSequence: 12 })]);
  });

  it("takes records from an async source and batches what is ready", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    async function* source(): AsyncGenerator<Record> {
      yield* records(1, 25);
    }
    const statuses = await client.produce(storeId, "s", "g", source(), { batchSize: 10 });
    expect(statuses.map((s) => s.lastSequence)).toEqual([10, 20, 25]);
  });

  it("sends a partial batch when the async source has nothing ready", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    // The source waits until records 1 and 2 are committed before yielding record 3: the produce
    // only completes if the client sent [1, 2] without waiting for a full batch.
    async function* source(): AsyncGenerator<Record> {
      yield* records(1, 2);
      for (let polls = 0; (await client.peek(storeId, "s", "g")).sequence < 2; polls++) {
        if (polls > 1_000_000) throw new Error("records 1 and 2 were never sent");
        // Let timers and I/O run (a store may commit from a later task); not a delay.
        await new Promise((resolve) => setImmediate(resolve));
      }
      yield* records(3, 1);
    }
    const statuses = await client.produce(storeId, "s", "g", source());
    expect(statuses.map((s) => s.lastSequence)).toEqual([2, 3]);
  });

  it("resolves an empty input to [] and stores nothing", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    expect(await client.produce(storeId, "s", "g", [])).toEqual([]);
    async function* nothing(): AsyncGenerator<Record> {}
    expect(await client.produce(storeId, "s", "g", nothing())).toEqual([]);
    expect(await client.getSpaces(storeId)).toEqual([]);
  });

  it("refuses a batch that skips a sequence with expected and actual, leaving the segment unchanged", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    await client.produce(storeId, "s", "g", records(1, 2));
    const error = await failureOf(() =>
      client.produce(storeId, "s", "g", [3, 4, 6].map((sequence) => ({ sequence, payload: bytes("x") }))),
    );
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "sequence_conflict", code: "permanent", details: { expected: 5, actual: 6 } });
    expect((await client.peek(storeId, "s", "g")).sequence).toBe(2);
  });

  it("keeps the batches committed before a conflict and reports the server's error, not a failed send", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    // Batches of 2: [1,2] [3,4] then [5,7] conflicts; many batches after it are pipelined behind.
    const input = [...records(1, 5), ...records(7, 200)];
    const error = await failureOf(() => client.produce(storeId, "s", "g", input, { batchSize: 2 }));
    expect(error).toMatchObject({ kind: "sequence_conflict", details: { expected: 6, actual: 7 } });
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
  });

  it("lets exactly one of concurrent producers win each sequence", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const other = connect();
    const producers = ["p0", "p1", "p2", "p3"];
    const wins = new Map<number, string>();
    // Each producer tries every sequence in turn, one record per produce, racing the others.
    await Promise.all(
      producers.map(async (producer, i) => {
        const producerClient = i % 2 === 0 ? client : other;
        for (let sequence = 1; sequence <= 30; sequence++) {
          try {
            await producerClient.produce(storeId, "s", "race", [{ sequence, payload: bytes(producer) }]);
            expect(wins.has(sequence)).toBe(false);
            wins.set(sequence, producer);
          } catch (error) {
            expect(error).toMatchObject({ kind: "sequence_conflict" });
          }
        }
      }),
    );
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "race" }));
    expect(entries.map((e) => e.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(entries.map((e) => text(e.payload))).toEqual(entries.map((e) => wins.get(e.sequence)));
  });

  it("commits exactly one of concurrent whole-batch producers", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const outcomes = await Promise.allSettled(
      ["a", "b", "c", "d", "e"].map((tag) => client.produce(storeId, "s", "g", records(1, 50, tag))),
    );
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect(outcome.reason).toMatchObject({ kind: "sequence_conflict" });
    }
    const tag = "abcde"[winners[0]!]!;
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((e) => text(e.payload))).toEqual(records(1, 50, tag).map((r) => text(r.payload)));
  });

  it("publishes at the next sequence with metadata", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const first = await client.publish(storeId, "s", "g", bytes("one"), { metadata: { kind: "greeting" } });
    expect(first).toMatchObject({ space: "s", segment: "g", firstSequence: 1, lastSequence: 1 });
    expect(first).not.toHaveProperty("$type");
    await client.produce(storeId, "s", "g", records(2, 2));
    const next = await client.publish(storeId, "s", "g", bytes("four"));
    expect(next.lastSequence).toBe(4);
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries[0]).toMatchObject({ sequence: 1, metadata: { kind: "greeting" } });
    expect(entries[0]!.payload).toEqual(bytes("one"));
    expect(entries[3]).toMatchObject({ sequence: 4, metadata: {} });
  });

  it("gives concurrent publishes distinct sequences with no gap", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const other = connect();
    const count = 60;
    const statuses = await Promise.all(
      Array.from({ length: count }, (_, i) => (i % 2 === 0 ? client : other).publish(storeId, "s", "g", bytes(`m-${i}`))),
    );
    expect(statuses.map((s) => s.lastSequence).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    const bySequence = new Map(statuses.map((s, i) => [s.lastSequence, `m-${i}`]));
    expect(entries.map((e) => text(e.payload))).toEqual(entries.map((e) => bySequence.get(e.sequence)));
  });
});
