import { describe, expect, it } from "vitest";
import { MessageTypes } from "../../api/internal/index.js";
import { type TailBlock, TailWindow } from "./tail-window.js";

/** A block of the positions (after, last], `size` bytes. */
const block = (after: number, last: number, size: number): TailBlock => ({
  after,
  last,
  entries: [],
  message: { $type: MessageTypes.entries, groups: [] },
  bytes: new Uint8Array(0),
  size,
});

describe("TailWindow", () => {
  it("drops the oldest blocks so its bytes never exceed the limit, and says where a position stands", () => {
    const window = new TailWindow(100);
    expect(window.place(5)).toEqual({ kind: "unanchored" });
    window.anchor(10);
    window.append(block(10, 12, 40));
    window.append(block(12, 15, 40));
    expect(window.place(10)).toEqual({ kind: "in", block: 0 });
    expect(window.place(13)).toEqual({ kind: "in", block: 1 });
    expect(window.place(15)).toEqual({ kind: "in", block: 2 });
    expect(window.place(16)).toEqual({ kind: "ahead" });
    window.append(block(15, 20, 40));
    expect(window.bytes).toBe(80);
    expect(window.highWater).toBe(80);
    expect(window.block(0)).toBe("evicted");
    expect(window.from).toBe(12);
    expect(window.place(11)).toEqual({ kind: "behind" });
    expect(window.place(12)).toEqual({ kind: "in", block: 1 });
    expect(window.block(3)).toBeUndefined();
  });

  it("keeps no block larger than its limit, starting after it instead", () => {
    const window = new TailWindow(100);
    window.anchor(0);
    window.append(block(0, 5, 60));
    window.append(block(5, 9, 101));
    expect(window.bytes).toBe(0);
    expect(window.highWater).toBe(60);
    expect(window.from).toBe(9);
    expect(window.head).toBe(9);
    expect(window.block(0)).toBe("evicted");
    expect(window.block(1)).toBe("evicted");
    expect(window.place(9)).toEqual({ kind: "in", block: 2 });
    expect(() => window.append(block(10, 12, 1))).toThrow();
  });

  it("compacts as it drops, and a reset leaves every earlier block number evicted", () => {
    const window = new TailWindow(10);
    window.anchor(0);
    for (let i = 0; i < 5000; i++) window.append(block(i, i + 1, 5));
    expect(window.blockCount).toBe(2);
    expect(window.block(4998)).toMatchObject({ after: 4998 });
    expect(window.evicted).toBe(4998);
    window.reset();
    expect(window.head).toBeUndefined();
    expect(window.block(4999)).toBe("evicted");
    window.anchor(7000);
    expect(window.place(7000)).toEqual({ kind: "in", block: 5000 });
  });
});
