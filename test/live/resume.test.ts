import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { INITIAL_CREDIT } from "../../pkg/api/internal/index.js";
import { type ConsumeIterable, createClient, type Entry, StreamsError } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { createWsProvider, type StreamInfo } from "../../transport/ws/index.js";
import { collect, failureOf, keyOf, records } from "../support/data.js";
import { type LiveServer, startLiveServer } from "./resume-server.js";
import { listMismatch, range } from "./follow-checks.js";

const STORE = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f";
const bounded = () => AbortSignal.timeout(30_000);
const sequences = (entries: Entry[]) => entries.map((entry) => entry.sequence);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startLiveServer>[0] = {}): Promise<LiveServer> {
  const started = await startLiveServer(options);
  cleanups.push(() => started.close());
  return started;
}

/** The one read stream open on the server's only WebSocket connection. */
function serverStream(live: LiveServer): StreamInfo | undefined {
  const [connection] = live.streamz.connections();
  return connection?.streams[0];
}

/** Lets the event loop run (I/O included) until `probe` holds; bounded in turns. */
async function until(probe: () => boolean, what: string, maxTurns = 20_000): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    if (probe()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("consume iterators resume after a dropped connection (WebSocket)", () => {
  // A client notices a cut only once it has read what reached it before the cut, and flow control lets
  // the server run about 32 messages of 512 entries ahead of the reader. Each cut below waits until
  // the previous one was resumed, and the producer stays about 1,000 entries ahead of the follower,
  // so every cut lands mid-stream and is noticed.
  it("a follow survives 20 connection drops mid-stream and sees every entry exactly once, in order", async () => {
    const live = await server();
    const producer = live.local();
    const consumer = live.connect();
    const read = consumer.consumeSegment(STORE, { space: "s", segment: "g", follow: true, signal: bounded() });
    const seen: number[] = [];
    const progress = new EventEmitter();
    const seenAtLeast = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (seen.length < count) return;
          progress.off("entry", check);
          resolve();
        };
        progress.on("entry", check);
        check();
      });
    let stop = false;
    let produced: number | undefined;
    const producing = (async () => {
      let last = 0;
      for (let batch = 0; batch < 2_000 && !stop; batch++) {
        await seenAtLeast(last - 1_000);
        await producer.produce(STORE, "s", "g", records(last + 1, 100));
        last += 100;
      }
      // A last batch after the total is known, so the follower always has something more to wait for.
      produced = last + 100;
      await producer.produce(STORE, "s", "g", records(last + 1, 100));
    })();
    let drops = 0;
    let sinceResume = 0;
    for await (const entry of read) {
      seen.push(entry.sequence);
      progress.emit("entry");
      if (read.state.reconnects === drops && ++sinceResume >= 400 && drops < 20) {
        expect(live.dropConnections()).toBeGreaterThanOrEqual(1);
        drops++;
        sinceResume = 0;
      }
      if (read.state.reconnects === 20) stop = true;
      if (seen.length === produced) break;
    }
    await producing;
    expect(drops).toBe(20);
    expect(read.state.reconnects).toBe(20);
    expect(listMismatch(seen, range(1, produced ?? 0))).toBeUndefined();
  });

  it("resumes plain reads too: a segment read keeps its limit, a multi-space read each space's place", async () => {
    const live = await server();
    const producer = live.local();
    const consumer = live.connect();
    await producer.produce(STORE, "a", "x", records(1, 22_000));
    await producer.produce(STORE, "b", "y", records(1, 8_000));
    await producer.produce(STORE, "a", "z", records(1, 3_000));

    /**
     * Reads everything, cutting the connection three times, 500 entries after the last resume. After a
     * cut it waits for the client to notice, so a cut costs the entries of one message at most, and
     * the reads are longer than what the server may send ahead (about 32 messages of 512 entries), so
     * each cut lands while the server still has entries to send.
     */
    const readWithCuts = async (read: ConsumeIterable): Promise<Entry[]> => {
      const entries: Entry[] = [];
      let drops = 0;
      let sinceResume = 0;
      for await (const entry of read) {
        entries.push(entry);
        if (read.state.reconnects === drops && ++sinceResume >= 500 && drops < 3) {
          const { reconnects } = consumer.state;
          live.dropConnections();
          drops++;
          sinceResume = 0;
          await until(() => consumer.state.status !== "connected" || consumer.state.reconnects > reconnects, "the client to notice the cut");
        }
      }
      return entries;
    };

    const limited = consumer.consumeSegment(STORE, { space: "a", segment: "x", limit: 21_000, signal: bounded() });
    expect(listMismatch(sequences(await readWithCuts(limited)), range(1, 21_000))).toBeUndefined();
    expect(limited.state.reconnects).toBe(3);

    const plain = await collect(producer.consume(STORE, { offsets: { a: "", b: "" } }));
    const merged = consumer.consume(STORE, { offsets: { a: "", b: "" }, signal: bounded() });
    const mergedEntries = await readWithCuts(merged);
    expect(merged.state.reconnects).toBe(3);
    const spaceOrder = (entries: Entry[], space: string) => entries.filter((e) => e.space === space).map(keyOf);
    expect(listMismatch(spaceOrder(mergedEntries, "a"), spaceOrder(plain, "a"))).toBeUndefined();
    expect(listMismatch(spaceOrder(mergedEntries, "b"), spaceOrder(plain, "b"))).toBeUndefined();
    expect(mergedEntries).toHaveLength(plain.length);
  });

  it("after a resume, state counts the entries re-read up to caught_up", async () => {
    const live = await server();
    const producer = live.local();
    const consumer = live.connect();
    await producer.produce(STORE, "s", "g", records(1, 100));
    const read = consumer.consumeSpace(STORE, { space: "s", follow: true, signal: bounded() });
    const iterator = read[Symbol.asyncIterator]();
    expect(sequences(await take(iterator, 100))).toEqual(range(1, 100));
    expect(read.state).toEqual({ status: "connected", reconnects: 0, caughtUp: 0 });
    // Paused: the next 50 reach the client's buffer at most, and are lost with the connection.
    await producer.produce(STORE, "s", "g", records(101, 50));
    expect(live.dropConnections()).toBe(1);
    expect(sequences(await take(iterator, 50))).toEqual(range(101, 50));
    expect(read.state).toEqual({ status: "connected", reconnects: 1, caughtUp: 50 });
    // Live entries after the catch-up are not counted.
    const next = iterator.next();
    await producer.produce(STORE, "s", "g", records(151, 1));
    expect((await next).value).toMatchObject({ sequence: 151 });
    expect(read.state).toEqual({ status: "connected", reconnects: 1, caughtUp: 50 });
    await iterator.return?.();
  });

  it("a paused follow keeps the server's stream bounded while 100k entries commit, then gets them all in order", async () => {
    const live = await server();
    const producer = live.local();
    const consumer = live.connect();
    await producer.produce(STORE, "s", "g", records(1, 1));
    const iterator = consumer.consumeSegment(STORE, { space: "s", segment: "g", follow: true, signal: bounded() })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ sequence: 1 });

    const total = 100_000;
    await producer.produce(STORE, "s", "g", records(2, total), { batchSize: 1_000 });
    // 100k entries need at least 196 messages of 512; the server may send only the frames the client granted.
    await until(() => serverStream(live)?.waitingFor === "credit", "the server to wait for credit");
    const stream = serverStream(live) as StreamInfo;
    expect(stream.framesOut).toBeLessThanOrEqual(2 * INITIAL_CREDIT);
    expect(stream.queued).toBeLessThanOrEqual(INITIAL_CREDIT);
    expect(live.streamz.connections()[0]!.bufferedBytes).toBeLessThanOrEqual(2 * 1024 * 1024);

    const outOfOrder: string[] = [];
    for (let expected = 2; expected <= total + 1; expected++) {
      const result = await iterator.next();
      if (result.done === true || result.value.sequence !== expected) outOfOrder.push(`expected ${expected}, got ${result.done === true ? "the end" : result.value.sequence}`);
      if (outOfOrder.length > 0) break;
    }
    expect(outOfOrder).toEqual([]);
    expect(serverStream(live)!.framesOut).toBeGreaterThan(total / 512);
    await iterator.return?.();
  });

  it("resumes against a restarted server on the same address (going away, then back)", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "streamkit-resume-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startLiveServer({ storeFactory: createLevelStoreFactory({ dataDir }) });
    await first.local().produce(STORE, "s", "g", records(1, 10));
    const consumer = createClient(createWsProvider(`ws://127.0.0.1:${first.port}`, { retry: { initialDelayMs: 5, maxDelayMs: 50 } }));
    cleanups.push(() => consumer.close());
    const read = consumer.consumeSegment(STORE, { space: "s", segment: "g", follow: true, signal: bounded() });
    const iterator = read[Symbol.asyncIterator]();
    expect(sequences(await take(iterator, 10))).toEqual(range(1, 10));
    const waiting = iterator.next();
    await first.close();
    const second = await server({ storeFactory: createLevelStoreFactory({ dataDir }), port: first.port });
    await second.local().produce(STORE, "s", "g", records(11, 5));
    expect((await waiting).value).toMatchObject({ sequence: 11 });
    expect(sequences(await take(iterator, 4))).toEqual(range(12, 4));
    expect(read.state.reconnects).toBeGreaterThanOrEqual(1);
    await iterator.return?.();
  });

  it("does not resume after a permanent error or once the client is closed", async () => {
    const live = await server();
    const consumer = live.connect();
    const refused = consumer.consumeSpace(STORE, { space: "s", offset: "s1", follow: true });
    expect(await failureOf(() => collect(refused))).toMatchObject({ kind: "invalid_argument" });
    expect(refused.state.reconnects).toBe(0);

    await live.local().produce(STORE, "s", "g", records(1, 1));
    const iterator = consumer.consumeSegment(STORE, { space: "s", segment: "g", follow: true })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ sequence: 1 });
    const failure = failureOf(() => iterator.next());
    await consumer.close();
    const error = await failure;
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "unavailable", message: "client is closed" });
  });
});

describe("consume iterators resume when the server closes the store (in-process)", () => {
  it("a follow goes on after its store's node is closed and opened again", async () => {
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    cleanups.push(() => manager.close());
    const client = createClient(createInProcProvider(manager));
    cleanups.push(() => client.close());
    await client.produce(STORE, "s", "g", records(1, 3));
    const read = client.consumeSegment(STORE, { space: "s", segment: "g", follow: true, signal: bounded() });
    const iterator = read[Symbol.asyncIterator]();
    expect(sequences(await take(iterator, 3))).toEqual([1, 2, 3]);
    const waiting = iterator.next();
    await manager.remove(STORE);
    await client.produce(STORE, "s", "g", records(4, 2));
    expect((await waiting).value).toMatchObject({ sequence: 4 });
    expect(sequences(await take(iterator, 1))).toEqual([5]);
    expect(read.state.reconnects).toBe(1);
    await iterator.return?.();
  });
});

async function take(iterator: AsyncIterator<Entry>, count: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const result = await iterator.next();
    if (result.done === true) break;
    entries.push(result.value);
  }
  return entries;
}
