import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch } from "./values.js";

const text = fc.string({ unit: "binary", maxLength: 300 });
const whole = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const metadata = fc.dictionary(fc.string({ unit: "binary", maxLength: 40 }).filter((k) => k !== "__proto__"), text, { maxKeys: 20 });
const batch = fc.record({
  placement: fc.record({ segment: text, firstSequence: whole, firstPosition: whole, timestamp: whole }),
  trx: fc.record({ id: text, node: text, number: whole }),
  records: fc.array(fc.record({ sequence: fc.constant(1), payload: fc.uint8Array({ maxLength: 70_000 }), metadata: fc.option(metadata, { nil: undefined }) }), {
    minLength: 1,
    maxLength: 40,
  }),
});

describe("stored batch values", () => {
  it("read back by hand as msgpackr reads them, payloads as views of the value", () => {
    fc.assert(
      fc.property(batch, ({ placement, trx, records }) => {
        const bytes = encodeBatch(placement, trx, records);
        const decoded = decodeBatch(bytes);
        expect(decoded).toEqual({
          ...placement,
          trx,
          payloads: records.map((record) => record.payload),
          metadata: records.map((record) => record.metadata ?? {}),
        });
        for (const payload of decoded.payloads) {
          expect(payload.constructor).toBe(Uint8Array);
          expect(payload.buffer).toBe(bytes.buffer);
        }
      }),
      { numRuns: 80 },
    );
  });

  it("falls back to msgpackr for forms encodeBatch does not write", () => {
    // Payloads as msgpack arrays of numbers instead of bin: still a readable value, in msgpackr's way.
    const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
    const bytes = packr.pack(["seg", 1, 1, 5, "t", "n", 1, [[1, 2]], [{ k: "v" }]]);
    expect(decodeBatch(bytes)).toEqual({ segment: "seg", firstSequence: 1, firstPosition: 1, timestamp: 5, trx: { id: "t", node: "n", number: 1 }, payloads: [[1, 2]], metadata: [{ k: "v" }] });
  });
});
