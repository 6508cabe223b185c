import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { type LeaseResult, MAX_LEASE_TTL_MS, StreamsError } from "../../pkg/api/internal/index.js";
import type { Store, StoreFeatures } from "../types.js";

/** What the lease group needs from the suite around it. */
export interface LeaseSuiteContext {
  readonly features: StoreFeatures;
  /** The test's fresh store. */
  store(): Store;
  /** Closes `store` and opens its data again, as a restarted process would. */
  reopen(store: Store): Promise<Store>;
  /** Another store over the same factory (its own data). */
  open(storeId: string): Promise<Store>;
}

const held = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: true, holder, expiresAt, token });
const refused = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: false, holder, expiresAt, token });
const FREE = refused("", 0, 0);

async function expectInvalid(call: Promise<unknown>, field: string): Promise<void> {
  const error: unknown = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StreamsError);
  expect(error).toMatchObject({ kind: "invalid_argument", details: { field } });
}

/** The lease contract (docs/leases.md), on the store's own clock (faked here: only `Date`). */
export function describeLeaseConformance(context: LeaseSuiteContext): void {
  describe("leases", () => {
    function clockAt(ms: number): void {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(ms);
    }

    it("grants a free key with token 1 and refuses others, naming the holder and its expiry", async () => {
      const store = context.store();
      clockAt(10_000);
      expect(await store.acquireLease("leader", "a", 5_000)).toEqual(held("a", 15_000, 1));
      vi.setSystemTime(11_000);
      expect(await store.acquireLease("leader", "b", 5_000)).toEqual(refused("a", 15_000, 1));
      expect(await store.renewLease("leader", "b", 5_000)).toEqual(refused("a", 15_000, 1));
      expect(await store.releaseLease("leader", "b")).toEqual(refused("a", 15_000, 1));
      // Nothing the others did changed a's lease.
      expect(await store.acquireLease("leader", "c", 1)).toEqual(refused("a", 15_000, 1));
    });

    it("renews for the holder, by renew or by acquire, keeping the token", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("k", "a", 3_000);
      vi.setSystemTime(3_000);
      expect(await store.renewLease("k", "a", 3_000)).toEqual(held("a", 6_000, 1));
      vi.setSystemTime(5_999);
      expect(await store.acquireLease("k", "a", 10_000)).toEqual(held("a", 15_999, 1));
      // A renewal may also shorten the lease.
      expect(await store.renewLease("k", "a", 1)).toEqual(held("a", 6_000, 1));
    });

    it("lets a lease lapse at its expiry; the next holder gets the next token", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("k", "a", 1_000);
      vi.setSystemTime(1_999);
      expect(await store.acquireLease("k", "b", 1_000)).toEqual(refused("a", 2_000, 1));
      vi.setSystemTime(2_000);
      expect(await store.renewLease("k", "a", 1_000)).toEqual(FREE);
      expect(await store.releaseLease("k", "a")).toEqual(FREE);
      expect(await store.acquireLease("k", "b", 1_000)).toEqual(held("b", 3_000, 2));
      // The old holder cannot renew or release the new holder's lease.
      expect(await store.renewLease("k", "a", 1_000)).toEqual(refused("b", 3_000, 2));
      expect(await store.releaseLease("k", "a")).toEqual(refused("b", 3_000, 2));
      // Taking back a lapsed lease is a change of hands too, even for the same holder.
      vi.setSystemTime(3_000);
      expect(await store.acquireLease("k", "b", 1_000)).toEqual(held("b", 4_000, 3));
    });

    it("frees a key on release by its holder; the counter carries on", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("k", "a", 60_000);
      expect(await store.releaseLease("k", "a")).toEqual({ ...FREE, ok: true });
      expect(await store.releaseLease("k", "a")).toEqual(FREE);
      expect(await store.renewLease("k", "a", 60_000)).toEqual(FREE);
      expect(await store.acquireLease("k", "a", 60_000)).toEqual(held("a", 61_000, 2));
      await store.releaseLease("k", "a");
      expect(await store.acquireLease("k", "b", 60_000)).toEqual(held("b", 61_000, 3));
    });

    it("refuses to release a free key", async () => {
      expect(await context.store().releaseLease("never-taken", "a")).toEqual(FREE);
    });

    it("keeps keys, and stores, apart", async () => {
      const store = context.store();
      const other = await context.open(randomUUID());
      clockAt(1_000);
      await store.acquireLease("one", "a", 1_000);
      await store.releaseLease("one", "a");
      expect(await store.acquireLease("one", "a", 1_000)).toEqual(held("a", 2_000, 2));
      expect(await store.acquireLease("two", "b", 1_000)).toEqual(held("b", 2_000, 1));
      expect(await other.acquireLease("one", "c", 1_000)).toEqual(held("c", 2_000, 1));
    });

    it("grants exactly one of many concurrent acquires", async () => {
      const store = context.store();
      clockAt(1_000);
      const holders = Array.from({ length: 20 }, (_, i) => `h-${i}`);
      const results = await Promise.all(holders.map((holder) => store.acquireLease("contested", holder, 5_000)));
      const winners = results.filter((result) => result.ok);
      expect(winners).toHaveLength(1);
      const winner = winners[0] as LeaseResult;
      expect(winner).toMatchObject({ expiresAt: 6_000, token: 1 });
      for (const result of results) expect(result).toEqual({ ...winner, ok: result === winner });
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
      expect(results.every((result) => result.ok)).toBe(true);
      const tokens = results.filter((_, i) => i % 2 === 0).map((result) => result.token);
      expect(tokens).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it.skipIf(!context.features.reopen)("keeps holders and token counters across close and reopen", async () => {
      const store = context.store();
      clockAt(1_000);
      await store.acquireLease("held", "a", 60_000);
      await store.acquireLease("counted", "a", 60_000);
      await store.releaseLease("counted", "a");
      await store.acquireLease("counted", "b", 60_000);
      await store.releaseLease("counted", "b");
      const reopened = await context.reopen(store);
      expect(await reopened.acquireLease("held", "b", 60_000)).toEqual(refused("a", 61_000, 1));
      expect(await reopened.renewLease("held", "a", 60_000)).toEqual(held("a", 61_000, 1));
      expect(await reopened.acquireLease("counted", "c", 60_000)).toEqual(held("c", 61_000, 3));
    });

    it("finishes in-flight lease operations before closing, then refuses them with unavailable", async () => {
      const store = context.store();
      clockAt(1_000);
      const pending = store.acquireLease("k", "a", 1_000);
      await store.close();
      expect(await pending).toEqual(held("a", 2_000, 1));
      await expect(store.acquireLease("k", "a", 1_000)).rejects.toMatchObject({ kind: "unavailable" });
      await expect(store.releaseLease("k", "a")).rejects.toMatchObject({ kind: "unavailable" });
    });

    it("accepts a TTL of 1 ms to 24 h and nothing else", async () => {
      const store = context.store();
      clockAt(1_000);
      expect(await store.acquireLease("short", "a", 1)).toEqual(held("a", 1_001, 1));
      expect(await store.acquireLease("long", "a", MAX_LEASE_TTL_MS)).toEqual(held("a", 1_000 + MAX_LEASE_TTL_MS, 1));
      for (const ttlMs of [0, -1, 1.5, MAX_LEASE_TTL_MS + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectInvalid(store.acquireLease("k", "a", ttlMs), "ttlMs");
        await expectInvalid(store.renewLease("long", "a", ttlMs), "ttlMs");
      }
      await expectInvalid(store.acquireLease("k", "a", "1000" as unknown as number), "ttlMs");
      // Nothing was taken by the refused calls.
      expect(await store.releaseLease("k", "a")).toEqual(FREE);
    });

    it("refuses malformed keys and holders", async () => {
      const store = context.store();
      for (const bad of ["", "*", "a\u0000b", "x".repeat(257)]) {
        await expectInvalid(store.acquireLease(bad, "a", 1_000), "key");
        await expectInvalid(store.acquireLease("k", bad, 1_000), "holder");
        await expectInvalid(store.releaseLease("k", bad), "holder");
      }
    });
  });
}
