import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  decodeAny,
  decodeError,
  decodeFrame,
  decodeMessage,
  encodeDataFrameHead,
  encodeError,
  encodeFrame,
  encodeMessage,
  type Frame,
  type Message,
  FrameError,
  FrameKinds,
  isValidName,
  MessageTypes,
  type RecordBatch,
  StreamsError,
} from "./index.js";

const name = fc.string({ minLength: 1, maxLength: 40 }).filter(isValidName);
const metadata = fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 20 }), { maxKeys: 4 });
const record = fc.record({
  sequence: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  payload: fc.uint8Array({ maxLength: 64 }),
  metadata,
});

describe("envelope codec", () => {
  it("round-trips record batches exactly", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (records) => {
        const message: RecordBatch = { $type: MessageTypes.recordBatch, records };
        const decoded = decodeMessage(encodeMessage(message)) as RecordBatch;
        expect(decoded.records.length).toBe(records.length);
        decoded.records.forEach((r, i) => {
          const original = records[i]!;
          expect(r.sequence).toBe(original.sequence);
          expect(new Uint8Array(r.payload)).toEqual(original.payload);
          expect(r.metadata).toEqual(original.metadata);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("round-trips consume requests with every optional field", () => {
    fc.assert(
      fc.property(
        name,
        name,
        fc.option(fc.nat(), { nil: undefined }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.option(fc.boolean(), { nil: undefined }),
        (space, segment, minSequence, limit, follow) => {
          const message = { $type: MessageTypes.consumeSegment, space, segment, minSequence, limit, follow };
          expect(decodeMessage(encodeMessage(message))).toEqual(JSON.parse(JSON.stringify(message)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("answers arbitrary bytes with invalid_argument, never another failure", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(StreamsError);
          expect((error as StreamsError).kind).toBe("invalid_argument");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("names the offending field", () => {
    const bad = encodeMessage({ $type: MessageTypes.produce, space: "s", segment: 42 } as never);
    expect(() => decodeMessage(bad)).toThrow(/segment: must be a string/);
    const star = encodeMessage({ $type: MessageTypes.produce, space: "s", segment: "*" });
    expect(() => decodeMessage(star)).toThrow(/segment: '\*' is reserved/);
    const seq = encodeMessage({ $type: MessageTypes.recordBatch, records: [{ sequence: 0, payload: new Uint8Array() }] });
    expect(() => decodeMessage(seq)).toThrow(/records\[0\]\.sequence/);
    const payload = encodeMessage({ $type: MessageTypes.recordBatch, records: [{ sequence: 1, payload: "text" }] } as never);
    expect(() => decodeMessage(payload)).toThrow(/records\[0\]\.payload: must be binary/);
    const unknown = encodeMessage({ $type: "streamkit://api/v1/nope" } as never);
    expect(() => decodeMessage(unknown)).toThrow(/unknown message type/);
    const limit = encodeMessage({ $type: MessageTypes.consumeSpace, space: "s", limit: -1 });
    expect(() => decodeMessage(limit)).toThrow(/limit: must not be negative/);
  });

  it("keeps error kind, code, retryAfterMs and details through the wire", () => {
    const error = new StreamsError("unavailable", "circuit open", { retryAfterMs: 1234, details: { storeId: "x" } });
    const decoded = decodeError(encodeError(error));
    expect(decoded).toBeInstanceOf(StreamsError);
    expect(decoded).toBeInstanceOf(Error);
    expect(decoded.name).toBe("StreamsError");
    expect({ kind: decoded.kind, code: decoded.code, retryAfterMs: decoded.retryAfterMs, details: decoded.details }).toEqual({
      kind: "unavailable",
      code: "transient",
      retryAfterMs: 1234,
      details: { storeId: "x" },
    });
  });

  it("decodes untrusted maps without polluting prototypes", () => {
    const bytes = encodeMessage(JSON.parse('{"$type":"streamkit://api/v1/get_spaces","__proto__":{"polluted":true}}') as Message);
    decodeAny(bytes);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe("frame codec", () => {
  const frame: fc.Arbitrary<Frame> = fc.oneof(
    fc.record({ kind: fc.constant(FrameKinds.open), channel: fc.integer({ min: 1, max: 2 ** 31 }), storeId: fc.uuid(), message: fc.uint8Array() }),
    fc.record({ kind: fc.constant(FrameKinds.data), channel: fc.nat(), message: fc.uint8Array() }),
    fc.record({ kind: fc.constant(FrameKinds.end), channel: fc.nat() }),
    fc.record({ kind: fc.constant(FrameKinds.cancel), channel: fc.nat() }),
    fc.record({ kind: fc.constant(FrameKinds.credit), channel: fc.nat(), credit: fc.integer({ min: 1, max: 1000 }) }),
    fc.record({ kind: fc.constant(FrameKinds.refresh), channel: fc.constant(0 as const), token: fc.string() }),
  );

  it("round-trips every frame kind", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const decoded = decodeFrame(encodeFrame(f));
        const plain = (frame: Frame) =>
          "message" in frame ? { ...frame, message: Array.from(frame.message) } : frame;
        expect(plain(decoded)).toEqual(plain(f));
      }),
      { numRuns: 300 },
    );
  });

  it("writes data frames exactly as msgpack would, at every channel and length boundary", () => {
    const reference = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
    const channels = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 33 }), fc.constantFrom(127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32));
    const lengths = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(255, 256, 65535, 65536, 70000));
    fc.assert(
      fc.property(channels, lengths, (channel, length) => {
        const message = new Uint8Array(length).fill(length & 0xff);
        const bytes = encodeFrame({ kind: FrameKinds.data, channel, message });
        expect(Buffer.compare(bytes, reference.pack([FrameKinds.data, channel, message]))).toBe(0);
        // A shared message sent after its frame's head makes the same bytes.
        if (channel <= 2 ** 32 - 1) expect(Buffer.compare(Buffer.concat([encodeDataFrameHead(channel, length), message]), bytes)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("answers garbage with FrameError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
