import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareNames,
  decodeOffset,
  decodeOffsetOf,
  isValidName,
  MAX_NAME_BYTES,
  nameProblem,
  normalizeStoreId,
  segmentOffset,
  spaceOffset,
  StreamsError,
} from "./internal/index.js";

describe("offsets", () => {
  it("round-trip every safe sequence and position, URL-safe", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (value) => {
        for (const [offset, kind] of [
          [segmentOffset(value), "segment"],
          [spaceOffset(value), "space"],
        ] as const) {
          expect(offset).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(encodeURIComponent(offset)).toBe(offset);
          expect(decodeOffset(offset)).toEqual({ kind, value });
        }
      }),
      { numRuns: 500 },
    );
  });

  it("round-trip segment offsets that carry the entry's commit position; old ones decode without it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (sequence, position) => {
        const offset = segmentOffset(sequence, position);
        expect(offset).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(encodeURIComponent(offset)).toBe(offset);
        expect(decodeOffset(offset)).toEqual({ kind: "segment", value: sequence, position });
        expect(decodeOffsetOf("segment", offset)).toBe(sequence);
      }),
      { numRuns: 500 },
    );
    expect(decodeOffset("s5")).toEqual({ kind: "segment", value: 5 });
    // Only segment offsets carry a position, and it is never 0.
    for (const bad of ["p5_3", "s5_0", "s5_", "s5_3_4"]) expect(() => decodeOffset(bad)).toThrow(/not an offset this server issued/);
    expect(() => segmentOffset(5, 0)).toThrow(TypeError);
  });

  it('treats "" as the start and refuses foreign strings with invalid_argument', () => {
    expect(decodeOffset("")).toBeUndefined();
    expect(decodeOffsetOf("space", "")).toBe(0);
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          decodeOffset(s);
        } catch (error) {
          expect((error as StreamsError).kind).toBe("invalid_argument");
        }
      }),
    );
    expect(() => decodeOffsetOf("segment", spaceOffset(3))).toThrow(/space offset/);
  });
});

describe("names", () => {
  it("accepts well-formed names of 1-256 bytes without control characters", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }), (s) => {
        const bytes = new TextEncoder().encode(s).length;
        const hasControl = [...s].some((c) => {
          const point = c.codePointAt(0) ?? 0;
          return point <= 0x1f || (point >= 0x7f && point <= 0x9f);
        });
        const expected = s !== "*" && bytes <= MAX_NAME_BYTES && !hasControl;
        expect(isValidName(s)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with a reference check on any UTF-16 string, lone surrogates included", () => {
    const reference = (s: string): boolean => {
      if (s === "" || s === "*") return false;
      if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)) return false;
      // biome-ignore lint: control characters are the point of this pattern
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) return false;
      return new TextEncoder().encode(s).length <= MAX_NAME_BYTES;
    };
    const units = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd7ff, max: 0xe000 }));
    fc.assert(
      fc.property(fc.array(units, { maxLength: 140 }), (codes) => {
        const s = String.fromCharCode(...codes);
        expect(isValidName(s)).toBe(reference(s));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses each bad kind with a reason", () => {
    expect(nameProblem("")).toMatch(/empty/);
    expect(nameProblem("*")).toMatch(/reserved/);
    expect(nameProblem("a\u0000b")).toMatch(/control/);
    expect(nameProblem("a\u0085")).toMatch(/control/);
    expect(nameProblem("\ud800")).toMatch(/surrogate/);
    expect(nameProblem("é".repeat(129))).toMatch(/256 bytes/);
    expect(nameProblem("é".repeat(128))).toBeUndefined();
    expect(nameProblem(7)).toMatch(/string/);
  });

  it("sorts by code point, not UTF-16 unit", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const byPoints = Math.sign(
          Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")),
        );
        expect(Math.sign(compareNames(a, b))).toBe(byPoints);
      }),
      { numRuns: 500 },
    );
    expect(["\uff5e", "\u{1d538}"].sort(compareNames)).toEqual(["\uff5e", "\u{1d538}"]);
  });

  it("normalizes store ids to lower case and refuses non-UUIDs", () => {
    expect(normalizeStoreId("0F8FAD5B-D9CB-469F-A165-70867728950E")).toBe("0f8fad5b-d9cb-469f-a165-70867728950e");
    expect(() => normalizeStoreId("not-a-uuid")).toThrow(StreamsError);
  });
});
