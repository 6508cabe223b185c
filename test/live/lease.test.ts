import { afterEach, describe, expect, it, vi } from "vitest";
import { type LeaseResult, StreamsError, type StreamsClient } from "../../pkg/client/index.js";
import { failureOf, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

const held = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: true, holder, expiresAt, token });
const refused = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: false, holder, expiresAt, token });
const FREE = refused("", 0, 0);

/** Fakes only the clock (server and client share this process), starting now so tokens stay valid. */
function fakeClock(): number {
  const start = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now: start });
  return start;
}

// The clock is faked here; on PostgreSQL leases expire on the database's clock instead
// (store/postgres/instances.test.ts and test/scale/three-instances.test.ts cover leases there).
describe.each(configurations.filter((configuration) => configuration.databaseClock !== true))("leases over $name", (configuration) => {
  const harness = useHarness(configuration);

  afterEach(() => {
    vi.useRealTimers();
  });

  it("grants a free key with token 1, refuses others naming the holder and expiry, renews keeping the token", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeClock();
    expect(await client.acquireLease(storeId, "leader", { holder: "a", ttlMs: 5_000 })).toEqual(held("a", t0 + 5_000, 1));
    vi.setSystemTime(t0 + 1_000);
    expect(await client.acquireLease(storeId, "leader", { holder: "b", ttlMs: 5_000 })).toEqual(refused("a", t0 + 5_000, 1));
    expect(await client.renewLease(storeId, "leader", { holder: "b", ttlMs: 5_000 })).toEqual(refused("a", t0 + 5_000, 1));
    expect(await client.releaseLease(storeId, "leader", { holder: "b" })).toEqual(refused("a", t0 + 5_000, 1));
    expect(await client.renewLease(storeId, "leader", { holder: "a", ttlMs: 5_000 })).toEqual(held("a", t0 + 6_000, 1));
    vi.setSystemTime(t0 + 2_000);
    // Acquire by the current holder renews.
    expect(await client.acquireLease(storeId, "leader", { holder: "a", ttlMs: 5_000 })).toEqual(held("a", t0 + 7_000, 1));
  });

  it("hands an expired lease to the next holder with token + 1; the old holder can neither renew nor release it", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeClock();
    await client.acquireLease(storeId, "k", { holder: "a", ttlMs: 1_000 });
    vi.setSystemTime(t0 + 1_000);
    expect(await client.renewLease(storeId, "k", { holder: "a", ttlMs: 1_000 })).toEqual(FREE);
    expect(await client.acquireLease(storeId, "k", { holder: "b", ttlMs: 1_000 })).toEqual(held("b", t0 + 2_000, 2));
    expect(await client.renewLease(storeId, "k", { holder: "a", ttlMs: 1_000 })).toEqual(refused("b", t0 + 2_000, 2));
    expect(await client.releaseLease(storeId, "k", { holder: "a" })).toEqual(refused("b", t0 + 2_000, 2));
    expect(await client.acquireLease(storeId, "k", { holder: "c", ttlMs: 1_000 })).toEqual(refused("b", t0 + 2_000, 2));
  });

  it("frees a key on release by its holder; the next acquire gets token + 1", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeClock();
    await client.acquireLease(storeId, "k", { holder: "a", ttlMs: 60_000 });
    expect(await client.releaseLease(storeId, "k", { holder: "a" })).toEqual({ ...FREE, ok: true });
    expect(await client.releaseLease(storeId, "k", { holder: "a" })).toEqual(FREE);
    expect(await client.acquireLease(storeId, "k", { holder: "b", ttlMs: 60_000 })).toEqual(held("b", t0 + 60_000, 2));
    expect(await client.releaseLease(storeId, "k", { holder: "b" })).toMatchObject({ ok: true });
    expect(await client.acquireLease(storeId, "k", { holder: "b", ttlMs: 60_000 })).toEqual(held("b", t0 + 60_000, 3));
  });

  it("keeps keys and stores apart", async () => {
    const { client, newStoreId } = harness();
    const [one, two] = [newStoreId(), newStoreId()];
    await client.acquireLease(one, "k", { holder: "a", ttlMs: 60_000 });
    expect(await client.acquireLease(one, "other", { holder: "b", ttlMs: 60_000 })).toMatchObject({ ok: true, token: 1 });
    expect(await client.acquireLease(two, "k", { holder: "b", ttlMs: 60_000 })).toMatchObject({ ok: true, token: 1 });
  });

  it("grants exactly one of many concurrent acquires from several connections", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const clients: StreamsClient[] = [client, connect(), connect()];
    const attempts = Array.from({ length: 30 }, (_, i) =>
      (clients[i % clients.length] as StreamsClient).acquireLease(storeId, "contested", { holder: `h-${i}`, ttlMs: 60_000 }),
    );
    const results = await Promise.all(attempts);
    const winners = results.filter((result) => result.ok);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as LeaseResult;
    expect(winner.token).toBe(1);
    for (const result of results) expect(result).toEqual({ ...winner, ok: result === winner });
  });

  it("answers a TTL outside 1 ms..24 h and malformed names with invalid_argument", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    for (const ttlMs of [0, -5, 1.5, 86_400_001]) {
      for (const call of [
        () => client.acquireLease(storeId, "k", { holder: "a", ttlMs }),
        () => client.renewLease(storeId, "k", { holder: "a", ttlMs }),
      ]) {
        expect(await failureOf(call)).toMatchObject({ kind: "invalid_argument", details: { field: "ttlMs" } });
      }
    }
    expect(await failureOf(() => client.acquireLease(storeId, "", { holder: "a", ttlMs: 1_000 }))).toMatchObject({ kind: "invalid_argument" });
    expect(await failureOf(() => client.releaseLease(storeId, "k", { holder: "*" }))).toMatchObject({ kind: "invalid_argument" });
    expect(await failureOf(() => client.acquireLease(storeId, "\ud800", { holder: "a", ttlMs: 1_000 }))).toMatchObject({ kind: "invalid_argument" });
    // Both bounds themselves are fine, and nothing above took the key.
    expect(await client.acquireLease(storeId, "k", { holder: "a", ttlMs: 86_400_000 })).toMatchObject({ ok: true, token: 1 });
    expect(await client.acquireLease(storeId, "short", { holder: "a", ttlMs: 1 })).toMatchObject({ ok: true, token: 1 });
  });

  it("throws TypeError for arguments of the wrong type, sending nothing", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const bad = client as unknown as { [name: string]: (...args: unknown[]) => Promise<unknown> };
    const calls: (() => Promise<unknown>)[] = [
      () => bad.acquireLease!(storeId, "k", { holder: "a" }),
      () => bad.acquireLease!(storeId, "k", { holder: "a", ttlMs: "1000" }),
      () => bad.renewLease!(storeId, "k", { ttlMs: 1_000 }),
      () => bad.releaseLease!(storeId, "k"),
      () => bad.releaseLease!(storeId, 7, { holder: "a" }),
      () => bad.acquireLease!(storeId, "k", { holder: "a", ttlMs: 1_000, signal: "no" }),
      () => bad.withLease!(storeId, "k", { ttlMs: 1_000 }, "not a function"),
      () => bad.withLease!(storeId, "k", { ttlMs: 1_000, waitMs: -1 }, () => undefined),
      () => bad.withLease!(storeId, "k", { ttlMs: 1_000, holder: 5 }, () => undefined),
    ];
    for (const call of calls) expect(await failureOf(call)).toBeInstanceOf(TypeError);
    expect(await client.acquireLease(storeId, "k", { holder: "z", ttlMs: 1_000 })).toMatchObject({ ok: true, token: 1 });
  });

  it("rejects an aborted call with cancelled, taking nothing", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const reason = new Error("gave up");
    const error = await failureOf(() => client.acquireLease(storeId, "k", { holder: "a", ttlMs: 1_000, signal: AbortSignal.abort(reason) }));
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "cancelled" });
    expect((error as StreamsError).cause).toBe(reason);
    expect(await client.acquireLease(storeId, "k", { holder: "b", ttlMs: 1_000 })).toMatchObject({ ok: true, token: 1 });
  });
});
