import { describe, expect, it } from "vitest";
import { entriesOfGroup, entriesOfGroups, type EntryGroup } from "./entry-groups.js";
import { segmentOffset, spaceOffset } from "./offsets.js";

const trx = { id: "t-1", node: "n", number: 7 };
const group = (fields: Partial<EntryGroup> = {}): EntryGroup => ({
  space: "s",
  segment: "g",
  timestamp: 1000,
  trx,
  first: 4,
  payloads: [new Uint8Array([1]), new Uint8Array([2])],
  metadata: [{ k: "v" }, {}],
  ...fields,
});

describe("entry groups", () => {
  it("rebuilds each entry with consecutive sequences and segment offsets", () => {
    expect(entriesOfGroup(group())).toEqual([
      { space: "s", segment: "g", sequence: 4, timestamp: 1000, trx, payload: new Uint8Array([1]), metadata: { k: "v" }, offset: segmentOffset(4) },
      { space: "s", segment: "g", sequence: 5, timestamp: 1000, trx, payload: new Uint8Array([2]), metadata: {}, offset: segmentOffset(5) },
    ]);
  });

  it("gives space offsets from the group's position", () => {
    expect(entriesOfGroup(group({ position: 20 })).map((entry) => [entry.sequence, entry.offset])).toEqual([
      [4, spaceOffset(20)],
      [5, spaceOffset(21)],
    ]);
  });

  it("gives segment offsets with each entry's commit position from the group's `at`", () => {
    expect(entriesOfGroup(group({ at: 20 })).map((entry) => [entry.sequence, entry.offset])).toEqual([
      [4, segmentOffset(4, 20)],
      [5, segmentOffset(5, 21)],
    ]);
  });

  it("hands out payloads as plain Uint8Array views of decoded Buffers", () => {
    const buffer = Buffer.from([9, 8, 7]);
    const [entry] = entriesOfGroup(group({ payloads: [buffer.subarray(1)], metadata: [{}] }));
    expect(entry?.payload.constructor).toBe(Uint8Array);
    expect([...(entry?.payload ?? [])]).toEqual([8, 7]);
  });

  it("keeps the order of several groups", () => {
    const entries = entriesOfGroups([group({ segment: "a", first: 1 }), group({ segment: "b", first: 1, payloads: [new Uint8Array()], metadata: [{}] })]);
    expect(entries.map((entry) => `${entry.segment}${entry.sequence}`)).toEqual(["a1", "a2", "b1"]);
  });
});
