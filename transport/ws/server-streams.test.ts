import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { entriesOfGroups, type EntryGroup, FrameKinds, INITIAL_CREDIT, MessageTypes, type RecordBatch } from "../../pkg/api/internal/index.js";
import { RawClient, type StreamzFixture, startStreamz } from "../../test/support/ws-raw-client.js";

const STORE = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const HIGH_WATER_MARK = 256 * 1024;
const WAIT = { timeout: 10_000, interval: 5 };

let fixture: StreamzFixture;
let client: RawClient;

beforeEach(async () => {
  fixture = await startStreamz({ sendHighWaterMarkBytes: HIGH_WATER_MARK });
  client = await RawClient.connect(fixture.url);
});

afterEach(async () => {
  await client.close();
  await fixture.close();
});

const streamInfo = (channel: number) => fixture.streamz.connections()[0]?.streams.find((stream) => stream.channel === channel);
const dataFrames = (channel: number) => client.on(channel).filter((frame) => frame.kind === FrameKinds.data).length;
const ended = (channel: number) => client.on(channel).some((frame) => frame.kind === FrameKinds.end || frame.kind === FrameKinds.error);
const entriesOf = (message: { [key: string]: unknown }) => entriesOfGroups((message.groups as EntryGroup[] | undefined) ?? []);
const entriesOn = (channel: number) => client.messages(channel).reduce((sum, message) => sum + entriesOf(message).length, 0);

/** Writes `count` entries of `payloadBytes` to a segment over one produce stream, in batches. */
async function fill(channel: number, segment: string, count: number, payloadBytes: number, batchSize = 1_000): Promise<void> {
  const payload = new Uint8Array(payloadBytes).fill(7);
  client.open(channel, STORE, { $type: MessageTypes.produce, space: "s", segment });
  let batches = 0;
  for (let first = 1; first <= count; first += batchSize) {
    const records = [];
    for (let sequence = first; sequence < Math.min(first + batchSize, count + 1); sequence++) records.push({ sequence, payload });
    client.data(channel, { $type: MessageTypes.recordBatch, records });
    batches++;
    // Stay within the stream's credit: wait for the statuses of all but the last few batches.
    if (batches % 8 === 0) await client.until(() => client.messages(channel).length >= batches - 4, "produce statuses");
  }
  client.send({ kind: FrameKinds.end, channel });
  expect((await client.ending(channel)).kind).toBe(FrameKinds.end);
  expect(client.messages(channel).at(-1)).toMatchObject({ lastSequence: count });
}

async function nodeOpenStreams(): Promise<number> {
  return (await fixture.manager.getOrCreate(STORE)).openStreams;
}

describe("flow control", () => {
  it("a never-reading consumer of a large segment holds the server to its credit", async () => {
    const count = 100_000;
    await fill(1, "big", count, 16, 5_000);
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "big" });
    await vi.waitFor(() => expect(streamInfo(2)?.waitingFor).toBe("credit"), WAIT);
    // Exactly the initial credit went out; the server holds one pending message for this stream, no more.
    expect(streamInfo(2)).toMatchObject({ framesOut: INITIAL_CREDIT, sendCredit: 0 });
    await client.until(() => dataFrames(2) === INITIAL_CREDIT, "the credited frames");
    const delivered = entriesOn(2);
    expect(delivered).toBeLessThan(count);

    // Granting credit lets exactly that many more frames out, then it waits again.
    client.send({ kind: FrameKinds.credit, channel: 2, credit: 3 });
    await vi.waitFor(() => expect(streamInfo(2)).toMatchObject({ framesOut: INITIAL_CREDIT + 3, waitingFor: "credit" }), WAIT);

    // A reader that grants as it consumes gets the whole segment, in order.
    let granted = INITIAL_CREDIT + 3;
    while (!ended(2)) {
      await client.until(() => dataFrames(2) >= granted || ended(2), "the credited frames");
      client.send({ kind: FrameKinds.credit, channel: 2, credit: INITIAL_CREDIT });
      granted += INITIAL_CREDIT;
    }
    expect((await client.ending(2)).kind).toBe(FrameKinds.end);
    const sequences = client.messages(2).flatMap((message) => entriesOf(message).map((entry) => entry.sequence));
    expect(sequences).toHaveLength(count);
    expect(sequences.every((sequence, i) => sequence === i + 1)).toBe(true);
  });

  it("a connection that cannot drain stalls its streams at the socket's high-water mark", async () => {
    const count = 20_000;
    await fill(1, "wide", count, 2_048, 1_000);
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "wide" });
    client.send({ kind: FrameKinds.credit, channel: 2, credit: 1_000_000 });
    client.socket.pause();
    await vi.waitFor(() => expect(streamInfo(2)?.waitingFor).toBe("drain"), WAIT);
    const connection = fixture.streamz.connections()[0]!;
    // At most one message beyond the high-water mark is held (entries messages are at most ~256 KiB).
    expect(connection.bufferedBytes).toBeGreaterThanOrEqual(HIGH_WATER_MARK);
    expect(connection.bufferedBytes).toBeLessThan(HIGH_WATER_MARK + 300 * 1024);
    client.socket.resume();
    expect((await client.ending(2)).kind).toBe(FrameKinds.end);
    expect(entriesOn(2)).toBe(count);
  });

  it("refuses client data beyond its credit with resource_exhausted on that stream only", async () => {
    await fill(1, "g", INITIAL_CREDIT + 2, 150 * 1024, INITIAL_CREDIT + 2);
    // A reader stalled for credit never receives again, so it grants the client nothing more.
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" });
    await vi.waitFor(() => expect(streamInfo(2)?.waitingFor).toBe("credit"), WAIT);
    const stray: RecordBatch = { $type: MessageTypes.recordBatch, records: [] };
    for (let i = 1; i < INITIAL_CREDIT; i++) client.data(2, stray); // the open frame cost one credit
    await vi.waitFor(() => expect(streamInfo(2)?.queued).toBe(INITIAL_CREDIT - 1), WAIT);
    client.data(2, stray);
    const error = await client.errorOn(2);
    expect(error.kind).toBe("resource_exhausted");
    expect(error.message).toMatch(/credit/);
    await vi.waitFor(async () => expect(await nodeOpenStreams()).toBe(0), WAIT);
    client.open(3, STORE, { $type: MessageTypes.getSpaces });
    expect((await client.ending(3)).kind).toBe(FrameKinds.end);
  });
});

describe("streams on one connection", () => {
  it("serves many concurrent streams", async () => {
    const streams = 200;
    for (let channel = 1; channel <= streams; channel++) {
      client.open(channel, STORE, { $type: MessageTypes.produce, space: "many", segment: `seg-${channel}` });
    }
    for (let sequence = 1; sequence <= 5; sequence++) {
      for (let channel = 1; channel <= streams; channel++) {
        client.data(channel, { $type: MessageTypes.recordBatch, records: [{ sequence, payload: new Uint8Array([channel % 256, sequence]) }] });
      }
    }
    for (let channel = 1; channel <= streams; channel++) client.send({ kind: FrameKinds.end, channel });
    await client.until(() => Array.from({ length: streams }, (_, i) => ended(i + 1)).every(Boolean), "every produce to end");
    for (let channel = 1; channel <= streams; channel++) {
      expect(client.on(channel).at(-1)?.kind).toBe(FrameKinds.end);
      expect(client.messages(channel).map((status) => status.lastSequence)).toEqual([1, 2, 3, 4, 5]);
    }
    for (let channel = 1; channel <= streams; channel++) {
      client.open(1_000 + channel, STORE, { $type: MessageTypes.consumeSegment, space: "many", segment: `seg-${channel}` });
    }
    await client.until(() => Array.from({ length: streams }, (_, i) => ended(1_001 + i)).every(Boolean), "every read to end");
    for (let channel = 1; channel <= streams; channel++) {
      const entries = client.messages(1_000 + channel).flatMap(entriesOf);
      expect(entries.map((entry) => [...entry.payload])).toEqual([1, 2, 3, 4, 5].map((sequence) => [channel % 256, sequence]));
    }
    expect(fixture.streamz.connections()[0]?.streams).toEqual([]);
  });

  it("cancel mid-consume stops the node's handler and frees the channel", async () => {
    await fill(1, "g", INITIAL_CREDIT + 2, 150 * 1024, INITIAL_CREDIT + 2);
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" });
    await client.until(() => dataFrames(2) >= 3, "the first entries");
    expect(await nodeOpenStreams()).toBe(1);
    client.send({ kind: FrameKinds.cancel, channel: 2 });
    await vi.waitFor(async () => expect(await nodeOpenStreams()).toBe(0), WAIT);
    expect(streamInfo(2)).toBeUndefined();
    // No end or error answers a cancel, and the channel number can be used again.
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "g", limit: 1 });
    await client.until(() => ended(2), "the second stream on channel 2");
    expect(client.on(2).filter((frame) => frame.kind === FrameKinds.end)).toHaveLength(1);
    expect(client.on(2).some((frame) => frame.kind === FrameKinds.error)).toBe(false);
  });

  it("a client error frame cancels the stream like a cancel", async () => {
    await fill(1, "g", INITIAL_CREDIT + 2, 150 * 1024, INITIAL_CREDIT + 2);
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" });
    await vi.waitFor(() => expect(streamInfo(2)?.waitingFor).toBe("credit"), WAIT);
    client.send({ kind: FrameKinds.error, channel: 2, error: { code: "permanent", kind: "internal", message: "client gave up" } });
    await vi.waitFor(async () => expect(await nodeOpenStreams()).toBe(0), WAIT);
    expect(streamInfo(2)).toBeUndefined();
  });

  it("a lost connection aborts its streams", async () => {
    await fill(1, "g", INITIAL_CREDIT + 2, 150 * 1024, INITIAL_CREDIT + 2);
    client.open(2, STORE, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" });
    client.open(3, STORE, { $type: MessageTypes.produce, space: "s", segment: "open-producer" });
    await vi.waitFor(() => expect(streamInfo(2)?.waitingFor).toBe("credit"), WAIT);
    expect(await nodeOpenStreams()).toBe(2);
    client.socket.terminate();
    await vi.waitFor(() => expect(fixture.streamz.connections()).toEqual([]), WAIT);
    await vi.waitFor(async () => expect(await nodeOpenStreams()).toBe(0), WAIT);
  });
});
