import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { type LeaseResult, MAX_LEASE_TTL_MS, StreamsError } from "../../pkg/api/internal/index.js";
import type { StoreSuiteContext } from "./context.js";
import { clockAt, matches, rejection } from "./support.js";
import { MAX_LEASE_LIST } from "../leases.js";
import type { LeaseInfo } from "../types.js";

const held = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: true, holder, expiresAt, token });
const refused = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: false, holder, expiresAt, token });
const FREE = refused("", 0, 0);
const listed = (key: string, holder: string, expiresAt: number, token: number): LeaseInfo => ({ key, holder, expiresAt, token });

async function expectInvalid(call: Promise<unknown>, field: string): Promise<void> {
  const error = await rejection(call);
  assert.ok(error instanceof StreamsError, `expected a StreamsError, got ${String(error)}`);
  matches(error, { kind: "invalid_argument", details: { field } });
}

/** The lease contract (docs/leases.md), on the store's own clock (faked here: only `Date`). */
export function describeLeaseConformance(context: StoreSuiteContext): void {
  const { describe, it, itIf } = context.suite;
  describe("leases", () => {
    it("grants a free key with token 1 and refuses others, naming the holder and its expiry", async () => {
      const store = context.store();
      clockAt(10_000);
      assert.deepStrictEqual(await store.acquireLease("leader", "a", 5_000), held("a", 15_000, 1));
      clockAt(11_000);
      assert.deepStrictEqual(await store.acquireLease("leader", "b", 5_000), refused("a", 15_000, 1));
      assert.deepStrictEqual(await store.renewLease("leader", "b", 5_000), refused("a", 15_000, 1));
      assert.deepStrictEqual(await store.releaseLease("leader", "b"), refused("a", 15_000, 1));
      // Nothing the others did changed a's lease.
      assert.deepStrictEqual(await store.acquireLease("leader", "c", 1), refused("a", 15_000, 1));
    });

    it("renews for the holder, by renew or by acquire, keeping the token", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("k", "a", 3_000);
      clockAt(3_000);
      assert.deepStrictEqual(await store.renewLease("k", "a", 3_000), held("a", 6_000, 1));
      clockAt(5_999);
      assert.deepStrictEqual(await store.acquireLease("k", "a", 10_000), held("a", 15_999, 1));
      // A renewal may also shorten the lease.
      assert.deepStrictEqual(await store.renewLease("k", "a", 1), held("a", 6_000, 1));
    });

    it("lets a lease lapse at its expiry; the next holder gets the next token", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("k", "a", 1_000);
      clockAt(1_999);
      assert.deepStrictEqual(await store.acquireLease("k", "b", 1_000), refused("a", 2_000, 1));
      clockAt(2_000);
      assert.deepStrictEqual(await store.renewLease("k", "a", 1_000), FREE);
      assert.deepStrictEqual(await store.releaseLease("k", "a"), FREE);
      assert.deepStrictEqual(await store.acquireLease("k", "b", 1_000), held("b", 3_000, 2));
      // The old holder cannot renew or release the new holder's lease.
      assert.deepStrictEqual(await store.renewLease("k", "a", 1_000), refused("b", 3_000, 2));
      assert.deepStrictEqual(await store.releaseLease("k", "a"), refused("b", 3_000, 2));
      // Taking back a lapsed lease is a change of hands too, even for the same holder.
      clockAt(3_000);
      assert.deepStrictEqual(await store.acquireLease("k", "b", 1_000), held("b", 4_000, 3));
    });

    it("frees a key on release by its holder; the counter carries on", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("k", "a", 60_000);
      assert.deepStrictEqual(await store.releaseLease("k", "a"), { ...FREE, ok: true });
      assert.deepStrictEqual(await store.releaseLease("k", "a"), FREE);
      assert.deepStrictEqual(await store.renewLease("k", "a", 60_000), FREE);
      assert.deepStrictEqual(await store.acquireLease("k", "a", 60_000), held("a", 61_000, 2));
      await store.releaseLease("k", "a");
      assert.deepStrictEqual(await store.acquireLease("k", "b", 60_000), held("b", 61_000, 3));
    });

    it("refuses to release a free key", async () => {
      assert.deepStrictEqual(await context.store().releaseLease("never-taken", "a"), FREE);
    });

    it("keeps keys, and stores, apart", async () => {
      const store = context.store();
      const other = await context.open(randomUUID());
      clockAt(1_000);
      await store.acquireLease("one", "a", 1_000);
      await store.releaseLease("one", "a");
      assert.deepStrictEqual(await store.acquireLease("one", "a", 1_000), held("a", 2_000, 2));
      assert.deepStrictEqual(await store.acquireLease("two", "b", 1_000), held("b", 2_000, 1));
      assert.deepStrictEqual(await other.acquireLease("one", "c", 1_000), held("c", 2_000, 1));
    });

    it("grants exactly one of many concurrent acquires", async () => {
      const store = context.store();
      clockAt(1_000);
      const holders = Array.from({ length: 20 }, (_, i) => `h-${i}`);
      const results = await Promise.all(holders.map((holder) => store.acquireLease("contested", holder, 5_000)));
      const winners = results.filter((result) => result.ok);
      assert.strictEqual(winners.length, 1);
      const winner = winners[0] as LeaseResult;
      matches(winner, { expiresAt: 6_000, token: 1 });
      for (const result of results) assert.deepStrictEqual(result, { ...winner, ok: result === winner });
    });

    it("serializes concurrent operations on one key", async () => {
      const store = context.store();
      clockAt(1_000);
      // Each round: a takes the key, releases it, b takes it, releases it; the token rises by one each time.
      const operations: Promise<LeaseResult>[] = [];
      for (let round = 0; round < 10; round++) {
        operations.push(store.acquireLease("k", "a", 1_000), store.releaseLease("k", "a"));
        operations.push(store.acquireLease("k", "b", 1_000), store.releaseLease("k", "b"));
      }
      const results = await Promise.all(operations);
      assert.strictEqual(results.every((result) => result.ok), true);
      const tokens = results.filter((_, i) => i % 2 === 0).map((result) => result.token);
      assert.deepStrictEqual(tokens, Array.from({ length: 20 }, (_, i) => i + 1));
    });

    itIf(context.features.reopen)("keeps holders and token counters across close and reopen", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("held", "a", 60_000);
      await store.acquireLease("counted", "a", 60_000);
      await store.releaseLease("counted", "a");
      await store.acquireLease("counted", "b", 60_000);
      await store.releaseLease("counted", "b");
      const reopened = await context.reopen(store);
      assert.deepStrictEqual(await reopened.acquireLease("held", "b", 60_000), refused("a", 61_000, 1));
      assert.deepStrictEqual(await reopened.renewLease("held", "a", 60_000), held("a", 61_000, 1));
      assert.deepStrictEqual(await reopened.acquireLease("counted", "c", 60_000), held("c", 61_000, 3));
    });

    it("finishes in-flight lease operations before closing, then refuses them with unavailable", async () => {
      const store = context.store();
      clockAt(1_000);
      const pending = store.acquireLease("k", "a", 1_000);
      await store.close();
      assert.deepStrictEqual(await pending, held("a", 2_000, 1));
      matches(await rejection(store.acquireLease("k", "a", 1_000)), { kind: "unavailable" });
      matches(await rejection(store.releaseLease("k", "a")), { kind: "unavailable" });
    });

    it("accepts a TTL of 1 ms to 24 h and nothing else", async () => {
      const store = context.store();
      clockAt(1_000);
      assert.deepStrictEqual(await store.acquireLease("short", "a", 1), held("a", 1_001, 1));
      assert.deepStrictEqual(await store.acquireLease("long", "a", MAX_LEASE_TTL_MS), held("a", 1_000 + MAX_LEASE_TTL_MS, 1));
      for (const ttlMs of [0, -1, 1.5, MAX_LEASE_TTL_MS + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectInvalid(store.acquireLease("k", "a", ttlMs), "ttlMs");
        await expectInvalid(store.renewLease("long", "a", ttlMs), "ttlMs");
      }
      await expectInvalid(store.acquireLease("k", "a", "1000" as unknown as number), "ttlMs");
      // Nothing was taken by the refused calls.
      assert.deepStrictEqual(await store.releaseLease("k", "a"), FREE);
    });

    it("refuses malformed keys and holders", async () => {
      const store = context.store();
      for (const bad of ["", "*", "a\u0000b", "x".repeat(257)]) {
        await expectInvalid(store.acquireLease(bad, "a", 1_000), "key");
        await expectInvalid(store.acquireLease("k", bad, 1_000), "holder");
        await expectInvalid(store.releaseLease("k", bad), "holder");
      }
    });

    describe("listing", () => {
      it("lists live leases by key in code-point order, with holder, expiry and token", async () => {
        const store = context.store();
        assert.deepStrictEqual(await store.listLeases(), []);
        clockAt(1_000);
        // Code-point order differs from UTF-16 order for "ｚ" (U+FF5A) and "𝔸" (U+1D538).
        for (const key of ["𝔸", "ｚ", "b", "a"]) await store.acquireLease(key, `h-${key}`, 5_000);
        await store.releaseLease("b", "h-b");
        await store.acquireLease("b", "h-2", 2_000);
        assert.deepStrictEqual(await store.listLeases(), [
          listed("a", "h-a", 6_000, 1),
          listed("b", "h-2", 3_000, 2),
          listed("ｚ", "h-ｚ", 6_000, 1),
          listed("𝔸", "h-𝔸", 6_000, 1),
        ]);
        // A renewal shows its new expiry and the same token.
        await store.renewLease("a", "h-a", 9_000);
        matches(await store.listLeases({ limit: 1 }), [{ key: "a", expiresAt: 10_000, token: 1 }]);
      });

      it("leaves out released keys and leases past their expiry", async () => {
        const store = context.store();
        clockAt(1_000);
        await store.acquireLease("released", "a", 60_000);
        await store.releaseLease("released", "a");
        await store.acquireLease("short", "a", 1_000);
        await store.acquireLease("long", "b", 60_000);
        assert.deepStrictEqual((await store.listLeases()).map((lease) => lease.key), ["long", "short"]);
        clockAt(1_999);
        assert.deepStrictEqual((await store.listLeases()).map((lease) => lease.key), ["long", "short"]);
        // Expired at its expiry, as acquire judges it.
        clockAt(2_000);
        assert.deepStrictEqual(await store.listLeases(), [listed("long", "b", 61_000, 1)]);
        // Taken again, it is listed again with the next token.
        await store.acquireLease("short", "c", 1_000);
        assert.deepStrictEqual(await store.listLeases(), [listed("long", "b", 61_000, 1), listed("short", "c", 3_000, 2)]);
      });

      it("pages by key: at most `limit`, after the key `after`", async () => {
        const store = context.store();
        clockAt(1_000);
        const keys = Array.from({ length: 25 }, (_, i) => `k-${String(i).padStart(2, "0")}`);
        for (const key of keys) await store.acquireLease(key, "a", 60_000);
        // An expired key inside a page is skipped, not counted.
        await store.acquireLease("k-05x", "a", 1);
        clockAt(2_000);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listLeases(after === undefined ? { limit: 10 } : { limit: 10, after });
          assert.ok(page.length <= 10);
          seen.push(...page.map((lease) => lease.key));
          if (page.length < 10) break;
          after = page.at(-1)?.key;
        }
        assert.deepStrictEqual(seen, keys);
        assert.deepStrictEqual((await store.listLeases({ after: "k-23" })).map((lease) => lease.key), ["k-24"]);
        // `after` need not be a key that exists.
        assert.deepStrictEqual((await store.listLeases({ after: "k-05", limit: 2 })).map((lease) => lease.key), ["k-06", "k-07"]);
        assert.deepStrictEqual(await store.listLeases({ after: "l" }), []);
        assert.strictEqual((await store.listLeases()).length, 25);
      });

      it("lists only the store's own leases", async () => {
        const store = context.store();
        const other = await context.open(randomUUID());
        clockAt(1_000);
        await store.acquireLease("mine", "a", 1_000);
        await other.acquireLease("theirs", "b", 1_000);
        assert.deepStrictEqual(await store.listLeases(), [listed("mine", "a", 2_000, 1)]);
        assert.deepStrictEqual(await other.listLeases(), [listed("theirs", "b", 2_000, 1)]);
      });

      itIf(context.features.reopen)("lists the same leases after close and reopen", async () => {
        const store = context.store();
        clockAt(1_000);
        await store.acquireLease("held", "a", 60_000);
        await store.acquireLease("gone", "a", 60_000);
        await store.releaseLease("gone", "a");
        const reopened = await context.reopen(store);
        assert.deepStrictEqual(await reopened.listLeases(), [listed("held", "a", 61_000, 1)]);
      });

      it("refuses bad options with invalid_argument, and a closed store with unavailable", async () => {
        const store = context.store();
        for (const limit of [0, -1, 1.5, MAX_LEASE_LIST + 1, Number.NaN, "10"]) {
          await expectInvalid(store.listLeases({ limit: limit as number }), "limit");
        }
        for (const after of ["", "*", "a\u0000b", "x".repeat(257), 7]) {
          await expectInvalid(store.listLeases({ after: after as string }), "after");
        }
        await expectInvalid(store.listLeases("all" as unknown as { limit: number }), "options");
        assert.strictEqual((await store.listLeases({ limit: MAX_LEASE_LIST })).length, 0);
        await store.close();
        matches(await rejection(store.listLeases()), { kind: "unavailable" });
      });
    });
  });
}
