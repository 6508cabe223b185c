import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeAny, encodeMessage, type EntriesMessage, type EntryGroup, MessageTypes } from "./index.js";

// What any msgpack decoder reads back: the hand-written entries writer must agree with msgpackr.
const reference = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: "number" });
/** Decoded from a plain Uint8Array, so byte arrays come back as Uint8Arrays whichever writer made them. */
const read = (bytes: Uint8Array): unknown => reference.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));

const text = fc.string({ unit: "binary", maxLength: 300 });
const metadata = fc.dictionary(fc.string({ unit: "binary", maxLength: 40 }).filter((k) => k !== "__proto__"), text, { maxKeys: 20 });
const whole = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
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
