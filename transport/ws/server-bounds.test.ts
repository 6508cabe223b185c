import { Packr } from "msgpackr";
import { afterEach, describe, expect, it } from "vitest";
import { FrameKinds, MessageTypes, type RecordBatch } from "../../pkg/api/internal/index.js";
import { createNodeManager, type ServerLimits } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { listen, RawClient } from "../../test/support/ws-raw-client.js";
import { attachStreamz, type ConnectionInfo, type StreamzOptions, type StreamzServer } from "./index.js";

const STORE = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const KiB = 1024;
const rawPackr = new Packr({ useRecords: false, moreTypes: false });
/** The 5-byte frame of the attack: a data frame whose message is not binary, on a channel never opened. */
const MALFORMED = rawPackr.pack([FrameKinds.data, 7, "x"]);

interface Fixture {
  url: string;
  streamz: StreamzServer;
  close(): Promise<void>;
}

let fixture: Fixture | undefined;
const clients: RawClient[] = [];

async function start(options: Omit<StreamzOptions, "manager"> = {}, limits: Partial<ServerLimits> = {}): Promise<Fixture> {
  const http = await listen();
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false, limits });
  const streamz = attachStreamz(http.server, { ...options, manager });
  fixture = {
    url: http.url,
    streamz,
    async close() {
      await streamz.close();
      await manager.close();
      await http.close();
    },
  };
  return fixture;
}

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect((fixture as Fixture).url);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await fixture?.close();
  fixture = undefined;
});

const batch = (sequence: number, records = 1): RecordBatch => ({
  $type: MessageTypes.recordBatch,
  records: Array.from({ length: records }, (_, i) => ({ sequence: sequence + i, payload: new Uint8Array(1) })),
});

/** The server's view of the connection that has read the most bytes (the attacker's). */
function busiest(streamz: StreamzServer): ConnectionInfo {
  const sorted = streamz.connections().sort((a, b) => b.bytesIn - a.bytesIn);
  if (sorted[0] === undefined) throw new Error("no connection");
  return sorted[0];
}

const errorsOn = (client: RawClient, channel: number) => client.on(channel).filter((frame) => frame.kind === FrameKinds.error).length;

describe("unsent bytes per connection", () => {
  const HIGH_WATER_MARK = 64 * KiB;
  const MAX_FRAME = 64 * KiB;
  const MAX_UNSENT = HIGH_WATER_MARK + MAX_FRAME + 64 * KiB;
  const BURST = 2_000;
  const MAX_BURSTS = 500;

  it("stops reading a peer that does not read its error replies, and loses none of them", async () => {
    const { streamz } = await start({ sendHighWaterMarkBytes: HIGH_WATER_MARK, maxFrameBytes: MAX_FRAME, maxUnsentBytes: MAX_UNSENT });
    const attacker = await connect();
    attacker.socket.pause();
    let sent = 0;
    // Bursts until the server stops reading: it must, long before MAX_BURSTS (1M frames).
    for (let burst = 0; burst < MAX_BURSTS && !busiest(streamz).readPaused; burst++) {
      for (let i = 0; i < BURST; i++) attacker.sendBytes(MALFORMED);
      sent += BURST;
      await expect
        .poll(() => busiest(streamz).readPaused || busiest(streamz).bytesIn === sent * MALFORMED.length, { timeout: 10_000, interval: 2 })
        .toBe(true);
    }
    expect(busiest(streamz).readPaused).toBe(true);
    // More frames only wait in the network: the server's unsent bytes stay bounded.
    for (let i = 0; i < 10 * BURST; i++) attacker.sendBytes(MALFORMED);
    sent += 10 * BURST;
    const paused = busiest(streamz);
    expect(paused.bytesIn).toBeLessThan(sent * MALFORMED.length);
    expect(paused.bufferedBytes).toBeLessThanOrEqual(MAX_UNSENT);

    // Another connection is served meanwhile.
    const other = await connect();
    other.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    other.data(1, batch(1));
    await other.until(() => other.messages(1).length === 1, "the other connection's status");

    // Once the peer reads, the server reads again and every frame gets its reply.
    let replies = 0;
    attacker.socket.on("message", () => replies++);
    attacker.socket.resume();
    await attacker.until(() => replies === sent, `${sent} error replies`);
    expect(errorsOn(attacker, 7)).toBe(sent);
    expect(attacker.isClosed).toBe(false);
    expect(busiest(streamz).readPaused).toBe(false);
  });
});

describe("lists a request carries", () => {
  it("refuses a consume naming more spaces than maxSpacesPerConsume, permanently", async () => {
    await start({}, { maxSpacesPerConsume: 3 });
    const client = await connect();
    const offsets = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`space-${i}`, ""]));
    client.open(1, STORE, { $type: MessageTypes.consume, offsets: offsets(4) });
    const error = await client.errorOn(1);
    expect(error).toMatchObject({ kind: "resource_exhausted", code: "permanent", details: { field: "offsets", count: 4, limit: 3 } });
    client.open(2, STORE, { $type: MessageTypes.consume, offsets: offsets(3) });
    expect((await client.ending(2)).kind).toBe(FrameKinds.end);
  });

  it("refuses a record batch over maxRecordsPerBatch and metadata over maxMetadataEntries", async () => {
    await start({}, { maxRecordsPerBatch: 5, maxMetadataEntries: 2 });
    const client = await connect();
    client.open(1, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.data(1, batch(1, 6));
    expect(await client.errorOn(1)).toMatchObject({ kind: "resource_exhausted", code: "permanent", details: { field: "records" } });
    client.open(2, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.data(2, batch(1, 5));
    await client.until(() => client.messages(2).length === 1, "the batch of 5");
    const metadata = { a: "1", b: "2", c: "3" };
    client.open(3, STORE, { $type: MessageTypes.publish, space: "s", segment: "a", payload: new Uint8Array(1), metadata });
    expect(await client.errorOn(3)).toMatchObject({ kind: "resource_exhausted", code: "permanent", details: { field: "metadata" } });
    client.open(4, STORE, { $type: MessageTypes.subscribeWorkers, workerId: "w", metadata });
    expect(await client.errorOn(4)).toMatchObject({ kind: "resource_exhausted", code: "permanent" });
  });
});

describe("memory per connection", () => {
  const BUDGET = 48 * KiB;

  it("fails a consume whose spaces do not fit the connection's share, and serves it once others end", async () => {
    await start({ maxConnectionMemoryBytes: BUDGET });
    const client = await connect();
    const offsets = (from: number, count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`space-${from + i}`, ""]));
    // Each following consume of 8 spaces holds 8 × 4 KiB: the first fits, the second does not.
    client.open(1, STORE, { $type: MessageTypes.consume, offsets: offsets(0, 8), follow: true });
    await client.until(() => client.messages(1).some((message) => message.$type === MessageTypes.caughtUp), "the first consume to catch up");
    client.open(2, STORE, { $type: MessageTypes.consume, offsets: offsets(8, 8), follow: true });
    expect(await client.errorOn(2)).toMatchObject({ kind: "resource_exhausted", code: "transient" });
    // The share comes back when a stream ends.
    client.send({ kind: FrameKinds.cancel, channel: 1 });
    await expect.poll(() => fixture?.streamz.connections()[0]?.memoryBytes, { timeout: 10_000, interval: 2 }).toBe(0);
    client.open(3, STORE, { $type: MessageTypes.consume, offsets: offsets(8, 8), follow: true });
    await client.until(() => client.messages(3).some((message) => message.$type === MessageTypes.caughtUp), "the third consume to catch up");
  });

  it("fails a stream whose unread frames would pass the connection's share; the connection carries on", async () => {
    await start({ maxConnectionMemoryBytes: BUDGET, maxFrameBytes: 32 * KiB });
    const client = await connect();
    // A follow consume never reads what the client sends after its request: those frames queue up.
    client.open(1, STORE, { $type: MessageTypes.consumeSpace, space: "s", follow: true });
    await client.until(() => client.messages(1).some((message) => message.$type === MessageTypes.caughtUp), "the consume to catch up");
    const filler = { $type: MessageTypes.publish, space: "s", segment: "a", payload: new Uint8Array(16 * KiB) } as const;
    for (let i = 0; i < 8; i++) client.data(1, filler);
    expect(await client.errorOn(1)).toMatchObject({ kind: "resource_exhausted", code: "transient" });
    await expect.poll(() => fixture?.streamz.connections()[0]?.memoryBytes, { timeout: 10_000, interval: 2 }).toBe(0);
    client.open(2, STORE, { $type: MessageTypes.produce, space: "s", segment: "a" });
    client.data(2, batch(1));
    await client.until(() => client.messages(2).length === 1, "a produce on the same connection");
  });
});
