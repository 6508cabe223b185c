import fc from "fast-check";
import { Packr } from "msgpackr";
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessage, FrameKinds, MessageTypes, type RecordBatch } from "../../pkg/api/internal/index.js";
import { RawClient, refusedUpgrade, type StreamzFixture, startStreamz } from "../../test/support/ws-raw-client.js";

const STORE = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const MAX_FRAME = 64 * 1024;
const rawPackr = new Packr({ useRecords: false, moreTypes: false });

let fixture: StreamzFixture;
const clients: RawClient[] = [];

async function start(options: Parameters<typeof startStreamz>[0] = {}): Promise<RawClient> {
  fixture = await startStreamz(options);
  return connect();
}

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(fixture.url);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await fixture.close();
});

const batch = (sequence: number, payloadBytes = 1): RecordBatch => ({
  $type: MessageTypes.recordBatch,
  records: [{ sequence, payload: new Uint8Array(payloadBytes) }],
});

/** Produces one more record on an open produce channel and waits for its status. */
async function produceNext(client: RawClient, channel: number): Promise<void> {
  const sequence = client.messages(channel).length + 1;
  client.data(channel, batch(sequence));
  await client.until(() => client.messages(channel).length === sequence, `status ${sequence} on channel ${channel}`);
}

describe("limits", () => {
  it("refuses a frame over maxFrameBytes on its stream only", async () => {
    const client = await start({ maxFrameBytes: MAX_FRAME });
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.open(2, STORE, { $type: MessageTypes.produce, space: "s", segment: "b" });
    await produceNext(client, 1);
    client.data(2, batch(1, MAX_FRAME));
    const error = await client.errorOn(2);
    expect(error.kind).toBe("resource_exhausted");
    expect(error.message).toMatch(/exceeds the limit of 65536/);
    // An oversized open is refused the same way.
    client.send({ kind: FrameKinds.open, channel: 3, storeId: STORE, message: encodeMessage(batch(1, MAX_FRAME)) });
    expect((await client.errorOn(3)).kind).toBe("resource_exhausted");
    await produceNext(client, 1);
  });

  it("closes the connection with 1009 for a frame beyond the hard cap", async () => {
    const client = await start({ maxFrameBytes: MAX_FRAME });
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.data(1, batch(1, MAX_FRAME + 1024 * 1024 + 1));
    expect((await client.closed).code).toBe(1009);
  });

  it("refuses a stream over maxStreamsPerConnection with resource_exhausted", async () => {
    const client = await start({ maxStreamsPerConnection: 2 });
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.open(2, STORE, { $type: MessageTypes.produce, space: "s", segment: "b" });
    client.open(3, STORE, { $type: MessageTypes.getSpaces });
    const error = await client.errorOn(3);
    expect(error.kind).toBe("resource_exhausted");
    expect(error.message).toMatch(/limit 2/);
    client.send({ kind: FrameKinds.end, channel: 2 });
    await client.ending(2);
    client.open(4, STORE, { $type: MessageTypes.getSpaces });
    expect((await client.ending(4)).kind).toBe(FrameKinds.end);
    await produceNext(client, 1);
  });

  it("refuses upgrades over maxConnections with HTTP 503", async () => {
    await start({ maxConnections: 2 });
    await connect();
    const refusal = await refusedUpgrade(fixture.url);
    expect(refusal.status).toBe(503);
    expect(refusal.body).toMatch(/too many connections/);
    await clients.pop()!.close();
    await expect.poll(() => fixture.streamz.connections().length, { timeout: 10_000, interval: 5 }).toBe(1);
    await connect();
  });
});

describe("malformed input", () => {
  it("answers a malformed frame of a known channel with invalid_argument on that channel", async () => {
    const client = await start();
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.open(2, STORE, { $type: MessageTypes.produce, space: "s", segment: "b" });
    await produceNext(client, 1);
    client.sendBytes(rawPackr.pack([FrameKinds.data, 2, "not binary"]));
    expect((await client.errorOn(2)).kind).toBe("invalid_argument");
    client.sendBytes(rawPackr.pack([99, 5]));
    expect((await client.errorOn(5)).message).toMatch(/unknown frame kind 99/);
    await produceNext(client, 1);
  });

  it("answers a malformed envelope on its stream", async () => {
    const client = await start();
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.send({ kind: FrameKinds.open, channel: 2, storeId: STORE, message: new Uint8Array([0xc1, 0xff, 0x00]) });
    client.send({ kind: FrameKinds.open, channel: 3, storeId: STORE, message: rawPackr.pack({ $type: "streamkit://api/v1/nope" }) });
    client.send({ kind: FrameKinds.open, channel: 4, storeId: "not-a-uuid", message: encodeMessage({ $type: MessageTypes.getSpaces }) });
    client.data(1, { $type: MessageTypes.getSpaces });
    for (const channel of [1, 2, 3, 4]) expect((await client.errorOn(channel)).kind, `channel ${channel}`).toBe("invalid_argument");
    expect(client.isClosed).toBe(false);
  });

  it("answers an open on a channel already open with an error on it", async () => {
    const client = await start();
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.open(1, STORE, { $type: MessageTypes.getSpaces });
    const error = await client.errorOn(1);
    expect(error.kind).toBe("invalid_argument");
    expect(error.message).toMatch(/already open/);
    client.open(2, STORE, { $type: MessageTypes.getSpaces });
    expect((await client.ending(2)).kind).toBe(FrameKinds.end);
  });

  it.each([
    ["bytes that are not msgpack", new Uint8Array([0xc1]), 1007],
    ["a frame without a channel", rawPackr.pack([FrameKinds.data]), 1007],
    ["a malformed control frame", rawPackr.pack([FrameKinds.refresh, 0, 42]), 1007],
    ["a text message", "hello", 1008],
  ] as const)("closes the connection for %s", async (_name, bytes, code) => {
    const client = await start();
    client.sendBytes(bytes);
    const closed = await client.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason.length).toBeGreaterThan(0);
    await connect(); // the server carries on
  });
});

describe("fuzzed frames", () => {
  // Channel 1 is the producer that must stay undisturbed; 0 is the connection's control channel.
  const channel = fc.oneof(fc.constant(0), fc.integer({ min: 2, max: 40 }));
  const junk = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 64 }), fc.dictionary(fc.string(), fc.string()));
  const envelope = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.record({ $type: fc.constantFrom(...Object.values(MessageTypes), "x"), space: junk, segment: junk, limit: junk }).map((value) => rawPackr.pack(value)),
  );
  // Mostly frames a stream can be blamed for; sometimes input that closes the connection.
  const frameInput = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 128 }).map((bytes) => bytes as Uint8Array | string) },
    { weight: 1, arbitrary: fc.string({ maxLength: 16 }) },
    { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 10 }), channel, junk, junk).map((fields) => rawPackr.pack(fields)) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constant(FrameKinds.open), channel, fc.constantFrom(STORE, "nope", STORE.toUpperCase()), envelope)
        .map((fields) => rawPackr.pack(fields)),
    },
    { weight: 4, arbitrary: fc.tuple(fc.constant(FrameKinds.data), channel, envelope).map((fields) => rawPackr.pack(fields)) },
  );

  it("never take the server down nor disturb another stream", async () => {
    let client = await start();
    let produced = 0;
    const openProducer = () => client.open(1, STORE, { $type: MessageTypes.produce, space: "fuzz", segment: `seg-${clients.length}` });
    openProducer();
    let closes = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frameInput, { minLength: 1, maxLength: 3 }), async (inputs) => {
        for (const input of inputs) client.sendBytes(input);
        for (let fuzzed = 2; fuzzed <= 40; fuzzed++) client.send({ kind: FrameKinds.cancel, channel: fuzzed });
        const sequence = client.messages(1).length + 1;
        client.data(1, batch(sequence));
        const outcome = await client.until(() => client.messages(1).length === sequence, "the producer's status").then(
          () => "served" as const,
          (error: unknown) => {
            if (!client.isClosed) throw error;
            return "closed" as const;
          },
        );
        if (outcome === "closed") {
          // Only input that belongs to no stream may close the connection.
          expect([1007, 1008, 1009]).toContain((await client.closed).code);
          closes++;
          client = await connect();
          openProducer();
          return;
        }
        produced++;
        expect(client.on(1).some((frame) => frame.kind === FrameKinds.error)).toBe(false);
      }),
      { numRuns: 150, seed: 4242 },
    );
    expect(produced).toBeGreaterThan(0);
    expect(produced + closes).toBe(150);
  });
});
