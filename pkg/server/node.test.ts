import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  encodeValue,
  entriesOfGroups,
  type Entry,
  type EntryGroup,
  type Message,
  MessageTypes,
  type Principal,
  type Provider,
  type Record,
  type ServerStream,
  segmentOffset,
  spaceOffset,
  StreamsError,
} from "../api/internal/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { Store, StoredEntry, StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { MAX_BYTES_PER_MESSAGE, MAX_ENTRIES_PER_MESSAGE } from "./handlers/entries.js";
import type { Logger } from "../api/logger.js";
import { createNodeManager, type StoreNodeManager } from "./node-manager.js";

const STORE = "6f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
const WAIT_MS = 5_000;

/** Rejects if `promise` has not settled within `ms`: every wait in these tests is bounded. */
function bounded<T>(promise: Promise<T>, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A real memory store, instrumented: counts entries pulled from scans and scans still open, can inject a bug into peek. */
interface Instruments {
  pulled: number;
  openScans: number;
  released: () => Promise<void>;
}

function instrumentedFactory(): { factory: StoreFactory; instruments: Instruments } {
  const memory = createMemoryStoreFactory();
  let onRelease: (() => void) | undefined;
  const instruments: Instruments = {
    pulled: 0,
    openScans: 0,
    released: () => new Promise<void>((resolve) => (onRelease = resolve)),
  };
  async function* track<T extends StoredEntry | StoredEntry[]>(source: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
    instruments.openScans++;
    try {
      for await (const item of source) {
        instruments.pulled += Array.isArray(item) ? item.length : 1;
        yield item;
      }
    } finally {
      instruments.openScans--;
      if (instruments.openScans === 0) onRelease?.();
    }
  }
  const factory: StoreFactory = {
    async open(storeId) {
      const store: Store = await memory.open(storeId);
      const readSegment = store.readSegment.bind(store);
      const readSpace = store.readSpace.bind(store);
      const readSegmentChunks = store.readSegmentChunks?.bind(store);
      const readSpaceChunks = store.readSpaceChunks?.bind(store);
      const peek = store.peek.bind(store);
      return Object.assign(store, {
        readSegment: (range: Parameters<Store["readSegment"]>[0]) => track(readSegment(range)),
        readSpace: (range: Parameters<Store["readSpace"]>[0]) => track(readSpace(range)),
        readSegmentChunks: readSegmentChunks && ((range: Parameters<Store["readSegment"]>[0]) => track(readSegmentChunks(range))),
        readSpaceChunks: readSpaceChunks && ((range: Parameters<Store["readSpace"]>[0]) => track(readSpaceChunks(range))),
        // A programming error inside the server's reach, to check it ends only its own stream.
        peek: async (space: string, segment: string) => {
          if (segment === "boom") throw new TypeError("boom is not a function");
          return peek(space, segment);
        },
      });
    },
  };
  return { factory, instruments };
}

interface Reply {
  messages: { [key: string]: unknown }[];
  error?: StreamsError;
}

/** Drains a stream: every reply decoded, and the error that ended it, if any. */
async function drain(stream: ClientStream): Promise<Reply> {
  const messages: { [key: string]: unknown }[] = [];
  try {
    for (;;) {
      const bytes = await bounded(stream.receive());
      if (bytes === undefined) return { messages };
      messages.push(decodeAny(bytes) as { [key: string]: unknown });
    }
  } catch (error) {
    if (error instanceof StreamsError) return { messages, error };
    throw error;
  }
}

/** Opens a stream with `first`, sends `rest` while reading replies (so pipelining cannot deadlock), then half-closes. */
async function call(provider: Provider, first: Message | Uint8Array, rest: Message[] = []): Promise<Reply> {
  const stream = provider.open(STORE, first instanceof Uint8Array ? first : encodeMessage(first));
  const sending = (async () => {
    for (const message of rest) await stream.send(encodeMessage(message));
    stream.end();
  })().catch(() => undefined); // the server may end the stream before taking everything
  const reply = await drain(stream);
  await bounded(sending);
  return reply;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const batch = (from: number, count: number, payload = (n: number) => bytes(`e${n}`)): Message => ({
  $type: MessageTypes.recordBatch,
  records: Array.from({ length: count }, (_, i): Record => ({ sequence: from + i, payload: payload(from + i) })),
});
const produce = (space: string, segment: string): Message => ({ $type: MessageTypes.produce, space, segment });
const entriesOf = (reply: Reply): Entry[] => reply.messages.flatMap((m) => entriesOfGroups((m.groups as EntryGroup[] | undefined) ?? []));

describe("Node over the in-process transport", () => {
  let manager: StoreNodeManager;
  let provider: Provider;
  let instruments: Instruments;
  let logged: { fields: object; message?: string }[];

  function start(limits?: { maxPayloadBytes: number }, principal?: Principal): void {
    const built = instrumentedFactory();
    instruments = built.instruments;
    logged = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields, message) => logged.push({ fields, message }),
    };
    manager = createNodeManager({ storeFactory: built.factory, idleEviction: false, logger, limits });
    const target = principal === undefined ? manager : {
      handleStream: (storeId: string, stream: ServerStream) => manager.handleStream(storeId, { ...stream, principal }),
    };
    provider = createInProcProvider(target);
  }

  beforeEach(() => start());
  afterEach(async () => {
    await provider.close();
    await manager.close();
    vi.useRealTimers();
  });

  describe("produce", () => {
    it("commits pipelined batches in order, one status each, and ends when the client half-closes", async () => {
      const reply = await call(provider, produce("orders", "o-1"), [batch(1, 3), batch(4, 2), batch(6, 1)]);
      expect(reply.error).toBeUndefined();
      expect(reply.messages.map((m) => [m.$type, m.firstSequence, m.lastSequence])).toEqual([
        [MessageTypes.segmentStatus, 1, 3],
        [MessageTypes.segmentStatus, 1, 5],
        [MessageTypes.segmentStatus, 1, 6],
      ]);
      const read = await call(provider, { $type: MessageTypes.consumeSegment, space: "orders", segment: "o-1" });
      const entries = entriesOf(read);
      expect(entries.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(entries[0]).toMatchObject({ space: "orders", segment: "o-1", metadata: {}, offset: segmentOffset(1, 1) });
      expect(entries[0]?.trx).toMatchObject({ node: expect.any(String), number: expect.any(Number) });
      expect(new TextDecoder().decode(entries[5]?.payload)).toBe("e6");
    });

    it("keeps up with many pipelined batches while the client reads statuses late", async () => {
      const batches = Array.from({ length: 60 }, (_, i) => batch(i * 10 + 1, 10));
      const reply = await call(provider, produce("orders", "bulk"), batches);
      expect(reply.error).toBeUndefined();
      expect(reply.messages.map((m) => m.lastSequence)).toEqual(batches.map((_, i) => (i + 1) * 10));
    });

    it("goes on reading and committing while the client reads no statuses", async () => {
      const stream = provider.open(STORE, encodeMessage(produce("orders", "unread")));
      const batches = 20;
      for (let i = 0; i < batches; i++) await bounded(stream.send(encodeMessage(batch(i + 1, 1))));
      let head = 0;
      for (let attempt = 0; attempt < 100 && head < batches; attempt++) {
        const peek = await call(provider, { $type: MessageTypes.peek, space: "orders", segment: "unread" });
        head = (peek.messages[0]?.entry as Entry).sequence;
      }
      expect(head).toBe(batches);
      stream.end();
      expect((await drain(stream)).messages.map((m) => m.lastSequence)).toEqual(Array.from({ length: batches }, (_, i) => i + 1));
    });

    it("fails with sequence_conflict carrying expected and actual, earlier batches staying committed", async () => {
      const reply = await call(provider, produce("orders", "o-2"), [batch(1, 2), batch(3, 1), { $type: MessageTypes.recordBatch, records: [{ sequence: 4, payload: bytes("x") }, { sequence: 6, payload: bytes("y") }] }, batch(7, 1)]);
      expect(reply.messages.map((m) => m.lastSequence)).toEqual([2, 3]);
      expect(reply.error).toMatchObject({ kind: "sequence_conflict", code: "permanent", details: { expected: 5, actual: 6 } });
      const peek = await call(provider, { $type: MessageTypes.peek, space: "orders", segment: "o-2" });
      expect(peek.messages[0]?.entry).toMatchObject({ sequence: 3 });
    });

    it("refuses a payload over the limit with resource_exhausted, storing nothing of that batch", async () => {
      start({ maxPayloadBytes: 1024 });
      const reply = await call(provider, produce("orders", "o-3"), [
        batch(1, 1),
        batch(2, 2, (n) => new Uint8Array(n === 3 ? 1025 : 10)),
      ]);
      expect(reply.messages).toHaveLength(1);
      expect(reply.error).toMatchObject({ kind: "resource_exhausted", code: "permanent" });
      expect(reply.error?.message).toContain("records[1].payload");
      const peek = await call(provider, { $type: MessageTypes.peek, space: "orders", segment: "o-3" });
      expect(peek.messages[0]?.entry).toMatchObject({ sequence: 1 });
      const next = await call(provider, produce("orders", "o-3"), [batch(2, 1, () => new Uint8Array(1024))]);
      expect(next.messages[0]).toMatchObject({ lastSequence: 2 });
    });

    it("answers anything but a record batch after the first message with invalid_argument", async () => {
      const reply = await call(provider, produce("orders", "o-4"), [batch(1, 1), { $type: MessageTypes.getSpaces }]);
      expect(reply.messages).toHaveLength(1);
      expect(reply.error).toMatchObject({ kind: "invalid_argument" });
      expect(reply.error?.message).toContain("record_batch");
    });

    it("names the bad field of a batch: sequence 0, non-binary payload", async () => {
      const zero = await call(provider, produce("orders", "o-5"), [{ $type: MessageTypes.recordBatch, records: [{ sequence: 0, payload: bytes("a") }] }]);
      expect(zero.error).toMatchObject({ kind: "invalid_argument" });
      expect(zero.error?.message).toContain("records[0].sequence");
      const text = encodeValue({ $type: MessageTypes.recordBatch, records: [{ sequence: 1, payload: "not bytes" }] });
      const stream = provider.open(STORE, encodeMessage(produce("orders", "o-5")));
      await stream.send(text);
      stream.end();
      const reply = await drain(stream);
      expect(reply.error).toMatchObject({ kind: "invalid_argument" });
      expect(reply.error?.message).toContain("records[0].payload");
    });
  });

  describe("publish and peek", () => {
    it("publishes at the next sequence and peeks the latest entry", async () => {
      await call(provider, produce("orders", "p-1"), [batch(1, 2)]);
      const published = await call(provider, { $type: MessageTypes.publish, space: "orders", segment: "p-1", payload: bytes("third"), metadata: { k: "v" } });
      expect(published.error).toBeUndefined();
      expect(published.messages).toEqual([expect.objectContaining({ $type: MessageTypes.segmentStatus, lastSequence: 3 })]);
      const peek = await call(provider, { $type: MessageTypes.peek, space: "orders", segment: "p-1" });
      expect(peek.messages).toHaveLength(1);
      expect(peek.messages[0]).toMatchObject({ $type: MessageTypes.entry, entry: { sequence: 3, metadata: { k: "v" }, offset: segmentOffset(3, 3) } });
    });

    it("peeks an empty segment as the placeholder entry", async () => {
      const peek = await call(provider, { $type: MessageTypes.peek, space: "nothing", segment: "here" });
      const { entry } = peek.messages[0] as { entry: Entry };
      expect(peek.messages[0]?.$type).toBe(MessageTypes.entry);
      expect({ ...entry, payload: Array.from(entry.payload) }).toEqual({
        space: "nothing", segment: "here", sequence: 0, timestamp: 0, payload: [], metadata: {}, offset: "",
      });
      expect(entry.payload).toBeInstanceOf(Uint8Array);
    });

    it("refuses an oversized publish with resource_exhausted", async () => {
      start({ maxPayloadBytes: 16 });
      const reply = await call(provider, { $type: MessageTypes.publish, space: "s", segment: "g", payload: new Uint8Array(17) });
      expect(reply.error).toMatchObject({ kind: "resource_exhausted" });
      const peek = await call(provider, { $type: MessageTypes.peek, space: "s", segment: "g" });
      expect(peek.messages[0]?.entry).toMatchObject({ sequence: 0 });
    });
  });

  describe("consume_segment", () => {
    beforeEach(async () => {
      await call(provider, produce("orders", "c-1"), [batch(1, 10)]);
    });

    const consume = (fields: object): Message => ({ $type: MessageTypes.consumeSegment, space: "orders", segment: "c-1", ...fields });

    it("applies inclusive sequence bounds and the limit", async () => {
      expect(entriesOf(await call(provider, consume({ minSequence: 3, maxSequence: 6 }))).map((e) => e.sequence)).toEqual([3, 4, 5, 6]);
      expect(entriesOf(await call(provider, consume({ minSequence: 4, limit: 2 }))).map((e) => e.sequence)).toEqual([4, 5]);
      expect(entriesOf(await call(provider, consume({ limit: 0 })))).toHaveLength(10);
      expect(entriesOf(await call(provider, consume({ minSequence: 7, maxSequence: 3 })))).toEqual([]);
    });

    it("resumes after an entry's offset, and the later of offset and minSequence applies", async () => {
      const all = entriesOf(await call(provider, consume({})));
      const resumed = await call(provider, consume({ offset: all[6]?.offset }));
      expect(entriesOf(resumed).map((e) => e.sequence)).toEqual([8, 9, 10]);
      expect(entriesOf(await call(provider, consume({ offset: segmentOffset(2), minSequence: 5 }))).map((e) => e.sequence)).toEqual([5, 6, 7, 8, 9, 10]);
      expect(entriesOf(await call(provider, consume({ offset: "" })))).toHaveLength(10);
    });

    it("refuses a space offset and a negative limit with invalid_argument naming the field", async () => {
      const space = await call(provider, consume({ offset: spaceOffset(3) }));
      expect(space.error).toMatchObject({ kind: "invalid_argument" });
      expect(space.error?.message).toContain("offset");
      const negative = await call(provider, consume({ limit: -1 }));
      expect(negative.error?.message).toContain("limit");
    });

    it("reads a missing segment as empty", async () => {
      const reply = await call(provider, { $type: MessageTypes.consumeSegment, space: "orders", segment: "missing" });
      expect(reply).toEqual({ messages: [] });
    });
  });

  describe("consume_space and consume", () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ["Date"] });
    });

    async function produceAt(time: number, space: string, segment: string, from: number, count: number): Promise<void> {
      vi.setSystemTime(time);
      const reply = await call(provider, produce(space, segment), [batch(from, count)]);
      expect(reply.error).toBeUndefined();
    }

    it("reads a space in commit order and resumes after a space offset", async () => {
      await produceAt(1000, "a", "x", 1, 2);
      await produceAt(2000, "a", "y", 1, 1);
      await produceAt(3000, "a", "x", 3, 1);
      const all = entriesOf(await call(provider, { $type: MessageTypes.consumeSpace, space: "a" }));
      expect(all.map((e) => `${e.segment}${e.sequence}`)).toEqual(["x1", "x2", "y1", "x3"]);
      expect(all.map((e) => e.offset)).toEqual([1, 2, 3, 4].map(spaceOffset));
      const resumed = entriesOf(await call(provider, { $type: MessageTypes.consumeSpace, space: "a", offset: all[1]?.offset }));
      expect(resumed.map((e) => `${e.segment}${e.sequence}`)).toEqual(["y1", "x3"]);
      const bad = await call(provider, { $type: MessageTypes.consumeSpace, space: "a", offset: segmentOffset(1, 1) });
      expect(bad.error).toMatchObject({ kind: "invalid_argument" });
      const timed = entriesOf(await call(provider, { $type: MessageTypes.consumeSpace, space: "a", minTimestamp: 2000, maxTimestamp: 2000 }));
      expect(timed.map((e) => `${e.segment}${e.sequence}`)).toEqual(["y1"]);
    });

    it("keeps each entry's own batch when batches follow each other at the same time", async () => {
      await produceAt(1000, "a", "x", 1, 2);
      await produceAt(1000, "a", "x", 3, 1);
      for (const request of [
        { $type: MessageTypes.consumeSegment, space: "a", segment: "x" },
        { $type: MessageTypes.consumeSpace, space: "a" },
      ] as Message[]) {
        const read = await call(provider, request);
        expect(read.messages).toHaveLength(1);
        const ids = entriesOf(read).map((e) => e.trx?.id);
        expect(ids[0]).toBe(ids[1]);
        expect(ids[2]).not.toBe(ids[1]);
      }
    });

    it("merges spaces by (timestamp, space), limits the total, and issues space offsets", async () => {
      await produceAt(1000, "b", "q", 1, 1);
      await produceAt(2000, "a", "p", 1, 1);
      await produceAt(3000, "b", "q", 2, 1);
      await produceAt(3000, "a", "p", 2, 1);
      await produceAt(4000, "a", "p", 3, 1);
      const merged = entriesOf(await call(provider, { $type: MessageTypes.consume, offsets: { a: "", b: "" } }));
      expect(merged.map((e) => `${e.space}${e.sequence}@${e.timestamp}`)).toEqual(["b1@1000", "a1@2000", "a2@3000", "b2@3000", "a3@4000"]);
      const limited = entriesOf(await call(provider, { $type: MessageTypes.consume, offsets: { a: "", b: "" }, limit: 3 }));
      expect(limited).toHaveLength(3);
      // A consume offset resumes a consume_space of the same space, and the other way round.
      const a2 = merged[2] as Entry;
      const fromSpace = entriesOf(await call(provider, { $type: MessageTypes.consumeSpace, space: "a", offset: a2.offset }));
      expect(fromSpace.map((e) => e.sequence)).toEqual([3]);
      const spaceRead = entriesOf(await call(provider, { $type: MessageTypes.consumeSpace, space: "b" }));
      const resumed = entriesOf(await call(provider, { $type: MessageTypes.consume, offsets: { a: a2.offset, b: spaceRead[0]?.offset ?? "" } }));
      expect(resumed.map((e) => `${e.space}${e.sequence}`)).toEqual(["b2", "a3"]);
    });

    it("refuses a bad offset in the map naming its space, and an empty map", async () => {
      const bad = await call(provider, { $type: MessageTypes.consume, offsets: { a: "", b: "zz!" } });
      expect(bad.error).toMatchObject({ kind: "invalid_argument" });
      expect(bad.error?.message).toContain("offsets.b");
      const empty = await call(provider, { $type: MessageTypes.consume, offsets: {} });
      expect(empty.error?.message).toContain("offsets");
      expect(instruments.openScans).toBe(0);
    });
  });

  describe("listings and status", () => {
    it("lists spaces and segments sorted, and reports the store status", async () => {
      await call(provider, produce("zeta", "b"), [batch(1, 2)]);
      await call(provider, produce("alpha", "z"), [batch(1, 1)]);
      await call(provider, produce("alpha", "a"), [batch(1, 3)]);
      expect((await call(provider, { $type: MessageTypes.getSpaces })).messages).toEqual([{ $type: MessageTypes.names, names: ["alpha", "zeta"] }]);
      expect((await call(provider, { $type: MessageTypes.getSegments, space: "alpha" })).messages).toEqual([{ $type: MessageTypes.names, names: ["a", "z"] }]);
      const status = (await call(provider, { $type: MessageTypes.getStatus })).messages[0];
      expect(status).toMatchObject({
        $type: MessageTypes.storeStatus,
        storeId: STORE,
        spaces: [
          { space: "alpha", segmentCount: 2, entryCount: 4 },
          { space: "zeta", segmentCount: 1, entryCount: 2 },
        ],
      });
    });
  });

  describe("bad input", () => {
    it("answers malformed and unknown messages with invalid_argument, and other streams carry on", async () => {
      const reading = provider.open(STORE, encodeMessage({ $type: MessageTypes.getSpaces }));
      const cases: [Uint8Array, string][] = [
        [encodeValue({ $type: "streamkit://api/v1/nope" }), "$type"],
        [new Uint8Array([0xd9, 0x05, 0x61]), "malformed"],
        [encodeValue({ $type: MessageTypes.peek, space: 5, segment: "s" }), "space"],
        [encodeValue({ $type: MessageTypes.peek, space: "s", segment: "*" }), "segment"],
        [encodeValue({ $type: MessageTypes.consumeSegment, space: "s", segment: "g", minSequence: "1" }), "minSequence"],
        [encodeValue({ $type: MessageTypes.publish, space: "s", segment: "g", payload: [1, 2] }), "payload"],
        [encodeValue(batch(1, 1)), "record_batch"],
      ];
      for (const [message, field] of cases) {
        const reply = await call(provider, message);
        expect(reply.error, field).toMatchObject({ kind: "invalid_argument" });
        expect(reply.error?.message, field).toContain(field);
      }
      expect((await drain(reading)).messages).toEqual([{ $type: MessageTypes.names, names: [] }]);
      const after = await call(provider, produce("s", "g"), [batch(1, 1)]);
      expect(after.messages[0]).toMatchObject({ lastSequence: 1 });
    });

    it("ends only the failing stream with internal when a handler throws, and logs it", async () => {
      await call(provider, produce("orders", "fine"), [batch(1, 1)]);
      const [broken, fine] = await Promise.all([
        call(provider, { $type: MessageTypes.peek, space: "orders", segment: "boom" }),
        call(provider, { $type: MessageTypes.peek, space: "orders", segment: "fine" }),
      ]);
      expect(broken.error).toMatchObject({ kind: "internal", code: "permanent" });
      expect(broken.error?.message).not.toContain("boom is not a function");
      expect(fine.messages[0]).toMatchObject({ entry: { sequence: 1 } });
      expect(logged).toHaveLength(1);
      expect(logged[0]?.fields).toMatchObject({ op: "peek", storeId: STORE, err: expect.any(TypeError) });
      expect(manager.nodes()).toEqual([expect.objectContaining({ storeId: STORE, openStreams: 0 })]);
    });
  });

  describe("principals", () => {
    const readOnly: Principal = { subject: "reader", can: (storeId, access) => storeId === STORE && access === "read" };

    it("lets a read-only principal read but not produce or publish", async () => {
      start(undefined, readOnly);
      expect((await call(provider, { $type: MessageTypes.getSpaces })).error).toBeUndefined();
      expect((await call(provider, { $type: MessageTypes.peek, space: "s", segment: "g" })).error).toBeUndefined();
      expect((await call(provider, { $type: MessageTypes.consumeSpace, space: "s" })).error).toBeUndefined();
      const produced = await call(provider, produce("s", "g"), [batch(1, 1)]);
      expect(produced.error).toMatchObject({ kind: "permission_denied", code: "permanent" });
      const published = await call(provider, { $type: MessageTypes.publish, space: "s", segment: "g", payload: bytes("x") });
      expect(published.error).toMatchObject({ kind: "permission_denied" });
    });

    it("refuses every op on a store the principal does not cover", async () => {
      start(undefined, { can: (storeId) => storeId !== STORE });
      const reply = await call(provider, { $type: MessageTypes.getStatus });
      expect(reply.error).toMatchObject({ kind: "permission_denied" });
      expect(reply.messages).toEqual([]);
    });

    it("lets a writer do everything", async () => {
      start(undefined, { can: (storeId) => storeId === STORE });
      expect((await call(provider, produce("s", "g"), [batch(1, 1)])).messages[0]).toMatchObject({ lastSequence: 1 });
      expect(entriesOf(await call(provider, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" }))).toHaveLength(1);
    });
  });

  describe("large reads", () => {
    async function fill(segment: string, count: number, payloadBytes: number): Promise<void> {
      const batches = Array.from({ length: Math.ceil(count / 1000) }, (_, i) =>
        batch(i * 1000 + 1, Math.min(1000, count - i * 1000), () => new Uint8Array(payloadBytes)),
      );
      const reply = await call(provider, produce("big", segment), batches);
      expect(reply.error).toBeUndefined();
    }

    it("streams a large range in bounded messages, in order", async () => {
      await fill("many", 5000, 8);
      await fill("heavy", 1000, 2048);
      const many = await call(provider, { $type: MessageTypes.consumeSegment, space: "big", segment: "many" });
      expect(many.messages.every((m) => entriesOf({ messages: [m] }).length <= MAX_ENTRIES_PER_MESSAGE)).toBe(true);
      expect(many.messages.length).toBeGreaterThanOrEqual(Math.ceil(5000 / MAX_ENTRIES_PER_MESSAGE));
      expect(entriesOf(many).map((e) => e.sequence)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
      const heavy = await call(provider, { $type: MessageTypes.consumeSpace, space: "big", offset: spaceOffset(5000) });
      expect(entriesOf(heavy)).toHaveLength(1000);
      for (const message of heavy.messages) {
        expect(encodeValue(message).byteLength).toBeLessThan(MAX_BYTES_PER_MESSAGE + 8 * 1024);
      }
      expect(heavy.messages.length).toBeGreaterThan(1000 * 2048 / MAX_BYTES_PER_MESSAGE);
    });

    it("scans no further ahead than the reader's flow control allows", async () => {
      await fill("flow", 20_000, 8);
      const stream = provider.open(STORE, encodeMessage({ $type: MessageTypes.consumeSegment, space: "big", segment: "flow" }));
      const first = decodeAny((await bounded(stream.receive())) as Uint8Array) as { [key: string]: unknown };
      expect(entriesOf({ messages: [first] })).toHaveLength(MAX_ENTRIES_PER_MESSAGE);
      // Let the server run as far as it can: without flow control it would scan everything in these turns.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      const window = 16; // the in-process provider's default queue per direction
      expect(instruments.pulled).toBeLessThanOrEqual((window + 3) * MAX_ENTRIES_PER_MESSAGE);
      const rest = await drain(stream);
      expect(entriesOf(rest)).toHaveLength(20_000 - MAX_ENTRIES_PER_MESSAGE);
    });

    it("releases the store scan when the client cancels mid-read", async () => {
      await fill("cancel", 20_000, 8);
      for (const first of [
        { $type: MessageTypes.consumeSegment, space: "big", segment: "cancel" },
        { $type: MessageTypes.consumeSpace, space: "big" },
        { $type: MessageTypes.consume, offsets: { big: "", other: "" } },
      ] as Message[]) {
        const stream = provider.open(STORE, encodeMessage(first));
        await bounded(stream.receive());
        expect(instruments.openScans).toBeGreaterThan(0);
        const released = instruments.released();
        stream.cancel(new Error("enough"));
        await bounded(released);
        expect(instruments.openScans).toBe(0);
        expect(instruments.pulled).toBeLessThan(20_000);
        instruments.pulled = 0;
      }
      expect(logged).toEqual([]);
    });
  });
});
