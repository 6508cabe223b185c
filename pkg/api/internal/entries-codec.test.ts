import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeAny, encodeMessage, type EntriesMessage, type EntryGroup, MessageTypes } from "./index.js";
import { MsgpackWriter } from "./msgpack-writer.js";

// What any msgpack decoder reads back: the hand-written entries writer must agree with msgpackr.
const reference = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: "number" });
/** Decoded from a plain Uint8Array, so byte arrays come back as Uint8Arrays whichever writer made them. */
const read = (bytes: Uint8Array): unknown => reference.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));

const text = fc.string({ unit: "binary", maxLength: 300 });
const metadata = fc.dictionary(fc.string({ unit: "binary", maxLength: 40 }).filter((k) => k !== "__proto__"), text, { maxKeys: 20 });
// Every form the writer picks between: 32-bit integers, larger and more negative ones, and what is
// not an integer at all (floats, NaN, ±Infinity, -0), so a wrong branch cannot pass unseen.
const whole = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -(2 ** 31) - 1 }),
  fc.double(),
  fc.constantFrom(-0, Number.NaN, 2 ** 31 - 0.5, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, -(2 ** 53)),
);
const group: fc.Arbitrary<EntryGroup> = fc
  .record({
    space: text,
    segment: text,
    timestamp: whole,
    trx: fc.record({ id: text, node: text, number: whole }),
    first: whole,
    position: fc.option(whole, { nil: undefined }),
    at: fc.option(whole, { nil: undefined }),
    entries: fc.array(fc.tuple(fc.uint8Array({ maxLength: 70_000 }), metadata), { minLength: 1, maxLength: 20 }),
  })
  .map(({ entries, position, at, ...rest }) => {
    const built: EntryGroup = { ...rest, payloads: entries.map(([payload]) => payload), metadata: entries.map(([, m]) => m) };
    if (position !== undefined) built.position = position;
    if (at !== undefined) built.at = at;
    return built;
  });

describe("entries message writer", () => {
  it("writes what msgpackr reads back as the same message", () => {
    fc.assert(
      fc.property(fc.array(group, { maxLength: 20 }), (groups) => {
        const message: EntriesMessage = { $type: MessageTypes.entries, groups };
        const bytes = encodeMessage(message);
        expect(read(bytes)).toEqual(read(reference.pack(message)));
        expect(decodeAny(bytes)).toEqual(read(reference.pack(message)));
      }),
      { numRuns: 60 },
    );
  });

  it("leaves a message with a field it does not write to msgpackr, so nothing is dropped", () => {
    const group = { space: "s", segment: "g", timestamp: 1, trx: { id: "t", node: "n", number: 1 }, first: 1, payloads: [new Uint8Array(1)], metadata: [{}] };
    const withField = { ...group, later: 7 } as EntryGroup;
    const withTrxField = { ...group, trx: { ...group.trx, later: 7 } } as EntryGroup;
    for (const message of [
      { $type: MessageTypes.entries, groups: [withField] },
      { $type: MessageTypes.entries, groups: [withTrxField] },
      { $type: MessageTypes.entries, groups: [group], later: 7 } as EntriesMessage,
    ]) {
      expect(read(encodeMessage(message))).toEqual(read(reference.pack(message)));
    }
  });

  it("pins -0, NaN, floats and integers below -2^31 in every numeric field", () => {
    for (const value of [-0, Number.NaN, 0.5, -1.25, Number.MAX_VALUE, -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      const group: EntryGroup = { space: "s", segment: "g", timestamp: value, trx: { id: "t", node: "n", number: value }, first: value, position: value, at: value, payloads: [new Uint8Array(1)], metadata: [{}] };
      const message: EntriesMessage = { $type: MessageTypes.entries, groups: [group] };
      const decoded = read(encodeMessage(message));
      expect(decoded).toEqual(read(reference.pack(message)));
      // The value itself, not only agreement: -0 reads back as 0 (msgpackr writes it so too; toEqual tells them apart).
      expect((decoded as { groups: { timestamp: number }[] }).groups[0]?.timestamp).toEqual(Object.is(value, -0) ? 0 : value);
    }
  });

  it("refuses a length msgpack cannot hold instead of wrapping it", () => {
    // A 4 GiB payload is not allocated here: a byte array that reports that length stands in for one.
    const huge = Object.defineProperty(new Uint8Array(0), "byteLength", { value: 2 ** 32 });
    expect(() => new MsgpackWriter(16).bin(huge)).toThrow(RangeError);
    expect(() => new MsgpackWriter(16).arrayHeader(2 ** 32)).toThrow(/exceeds/);
    const fits = new MsgpackWriter(16);
    fits.arrayHeader(2 ** 32 - 1); // the widest length msgpack holds
    expect(Array.from(fits.finish())).toEqual([0xdd, 0xff, 0xff, 0xff, 0xff]);
  });

  it("writes the header sizes at their boundaries", () => {
    for (const count of [0, 15, 16, 0xffff, 0x1_0000]) {
      const payloads = Array.from({ length: count }, (_, i) => new Uint8Array(i % 3 === 0 ? 0 : i % 3 === 1 ? 0xff : 0x100));
      const groups: EntryGroup[] = [
        { space: "s".repeat(count % 300), segment: "é".repeat(40), timestamp: 2 ** 41 + count, trx: { id: "t", node: "n", number: count }, first: 1, payloads, metadata: payloads.map(() => ({})) },
      ];
      const message: EntriesMessage = { $type: MessageTypes.entries, groups };
      // Re-encoded by msgpackr, what the writer wrote gives msgpackr's own bytes (compared as bytes: deep equality of 65,536 entries is slow).
      expect(Buffer.compare(reference.pack(read(encodeMessage(message))), reference.pack(message))).toBe(0);
    }
  });
});
