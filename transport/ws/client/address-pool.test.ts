import { describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../../pkg/api/index.js";
import { AddressPool } from "./address-pool.js";
import { checkAddressSource, discover, parseAddresses } from "./addresses.js";

const RETRY: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2, jitter: 0, maxAttempts: Number.POSITIVE_INFINITY };

/** A pool over `urls` on a clock the test moves. */
function pool(urls: string[], options: { randomize?: boolean; random?: () => number } = {}) {
  const clock = { now: 0 };
  const addresses = parseAddresses(urls, (message) => new TypeError(message));
  const made = new AddressPool({ retry: RETRY, randomize: options.randomize ?? false, random: options.random, now: () => clock.now });
  made.update(addresses);
  const byUrl = (url: string) => addresses.find((address) => address.url === url)!;
  return { pool: made, clock, byUrl };
}

const picked = (from: AddressPool) => {
  const { address, waitMs } = from.pick();
  return [address.url, waitMs];
};

describe("address pool", () => {
  it("dials in the given order without randomize, and rotates", () => {
    const { pool: p } = pool(["ws://a", "ws://b", "ws://c"]);
    expect([picked(p), picked(p), picked(p), picked(p)]).toEqual([
      ["ws://a", 0],
      ["ws://b", 0],
      ["ws://c", 0],
      ["ws://a", 0],
    ]);
  });

  it("shuffles the start with randomize", () => {
    // Fisher–Yates with random() = 0 swaps each item with the first: [a, b, c] → [b, c, a].
    const { pool: p } = pool(["ws://a", "ws://b", "ws://c"], { randomize: true, random: () => 0 });
    expect(p.addresses.map((address) => address.url)).toEqual(["ws://b", "ws://c", "ws://a"]);
  });

  it("backs off a failing address by itself, exponentially, and prefers the ones that answer", () => {
    const { pool: p, clock, byUrl } = pool(["ws://bad", "ws://good"]);
    expect(picked(p)).toEqual(["ws://bad", 0]);
    p.failed(byUrl("ws://bad"));
    expect(picked(p)).toEqual(["ws://good", 0]);
    p.connected(byUrl("ws://good"));
    // The good one's connection is lost: it waits one step, and the bad one is still in its backoff.
    p.lost(byUrl("ws://good"));
    clock.now = 50;
    expect(picked(p)).toEqual(["ws://good", 50]);
    // Both free again: the one that answered comes first, however often this repeats.
    for (let round = 0; round < 5; round++) {
      clock.now += 100;
      expect(picked(p)).toEqual(["ws://good", 0]);
      p.connected(byUrl("ws://good"));
      p.lost(byUrl("ws://good"));
    }
  });

  it("a failing address waits 100, 200, 400 … ms up to maxDelayMs, and a success resets it", () => {
    const { pool: p, clock, byUrl } = pool(["ws://only"]);
    const waits: number[] = [];
    for (let failure = 0; failure < 6; failure++) {
      const { waitMs } = p.pick();
      waits.push(waitMs);
      clock.now += waitMs;
      expect(p.pick().waitMs).toBe(0);
      p.failed(byUrl("ws://only"));
    }
    expect(waits).toEqual([0, 100, 200, 400, 800, 1_000]);
    clock.now += 1_000;
    p.connected(byUrl("ws://only"));
    p.lost(byUrl("ws://only"));
    expect(p.pick().waitMs).toBe(100);
  });

  it("after a lost connection the next dial goes to another address at once", () => {
    const { pool: p, byUrl } = pool(["ws://a", "ws://b", "ws://c"]);
    expect(picked(p)).toEqual(["ws://a", 0]);
    p.connected(byUrl("ws://a"));
    p.lost(byUrl("ws://a"));
    expect(picked(p)).toEqual(["ws://b", 0]);
    p.connected(byUrl("ws://b"));
    p.lost(byUrl("ws://b"));
    expect(picked(p)).toEqual(["ws://c", 0]);
  });

  it("when every address waits, picks the one free soonest", () => {
    const { pool: p, clock, byUrl } = pool(["ws://a", "ws://b"]);
    p.pick();
    p.failed(byUrl("ws://a"));
    p.pick();
    p.failed(byUrl("ws://b"));
    clock.now = 10;
    p.pick();
    p.failed(byUrl("ws://a")); // second failure of a: free at 210, b at 100
    expect(picked(p)).toEqual(["ws://b", 90]);
  });

  it("keeps the backoff of addresses that stay in a new list, drops the others, adds new ones", () => {
    const { pool: p, byUrl } = pool(["ws://a", "ws://b"]);
    p.pick();
    p.failed(byUrl("ws://a"));
    p.update(parseAddresses(["ws://a", "ws://c"], (message) => new TypeError(message)));
    expect(p.addresses.map((address) => address.url)).toEqual(["ws://a", "ws://c"]);
    expect(picked(p)).toEqual(["ws://c", 0]);
  });
});

describe("address lists", () => {
  it("takes one URL, a list, comma-separated lists; drops repeats; maps each to its /streamz URL", () => {
    expect(parseAddresses("ws://a:1", (m) => new TypeError(m))).toEqual([{ url: "ws://a:1", streamz: "ws://a:1/streamz" }]);
    expect(parseAddresses(["ws://a:1, http://b:2", "wss://c/", "ws://a:1/streamz"], (m) => new TypeError(m)).map((a) => a.streamz)).toEqual([
      "ws://a:1/streamz",
      "ws://b:2/streamz",
      "wss://c/streamz",
    ]);
  });

  it("refuses wrong sources with TypeError before any dial", () => {
    for (const wrong of [undefined, 42, [], [""], " , ", ["ws://a", 3], "ftp://a", "not a url", {}]) {
      expect(() => checkAddressSource(wrong), JSON.stringify(wrong)).toThrow(TypeError);
    }
    expect(checkAddressSource(() => "ws://later")).toBeTypeOf("function");
  });

  it("asks a urls function each time: its failure is unavailable, a wrong answer invalid_argument", async () => {
    let calls = 0;
    expect((await discover(() => (++calls === 1 ? ["ws://a"] : "ws://b,ws://c"))).map((a) => a.url)).toEqual(["ws://a"]);
    expect((await discover(async () => (++calls === 1 ? [] : "ws://b,ws://c"))).map((a) => a.url)).toEqual(["ws://b", "ws://c"]);
    await expect(discover(() => Promise.reject(new Error("dns down")))).rejects.toMatchObject({ kind: "unavailable" });
    await expect(discover(() => [] as string[])).rejects.toMatchObject({ kind: "invalid_argument" });
    await expect(discover(() => "ftp://x")).rejects.toMatchObject({ kind: "invalid_argument" });
  });
});
