import { describe, expect, it } from "vitest";
import { silentLogger } from "../logger.js";
import { checkLogger, definedOnly, nonNegativeInteger, positiveInteger, requireMethods, requireObject, withDefaults } from "./options.js";

describe("the options toolkit", () => {
  it("merges defaults, an explicit undefined keeping the default", () => {
    expect(withDefaults({ a: 1, b: 2 }, { b: undefined })).toEqual({ a: 1, b: 2 });
    expect(withDefaults({ a: 1, b: 2 }, { b: 3 })).toEqual({ a: 1, b: 3 });
    expect(withDefaults({ a: 1 }, undefined)).toEqual({ a: 1 });
    expect(definedOnly({ a: undefined, b: 0, c: null })).toEqual({ b: 0, c: null });
  });

  it("throws a TypeError naming the option for a bad value", () => {
    expect(positiveInteger(3, "n")).toBe(3);
    for (const bad of [0, -1, 1.5, Number.NaN, "3", undefined, 2 ** 53]) expect(() => positiveInteger(bad, "maxThings")).toThrow(new TypeError(`maxThings must be an integer >= 1, got ${String(bad)}`));
    expect(nonNegativeInteger(0, "n")).toBe(0);
    expect(() => nonNegativeInteger(-1, "recent")).toThrow(TypeError);
    expect(() => requireObject([], "limits")).toThrow(new TypeError("limits must be an object"));
    expect(() => requireMethods({ open: 1 }, "storeFactory", ["open"])).toThrow(new TypeError("storeFactory must have open"));
    expect(() => checkLogger({ info() {} }, silentLogger)).toThrow(new TypeError("logger must have debug, info, warn, error"));
    expect(checkLogger(undefined, silentLogger)).toBe(silentLogger);
  });
});
