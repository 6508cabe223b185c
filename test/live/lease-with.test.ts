import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Lease, type LeaseResult, StreamsError } from "../../pkg/client/index.js";
import { failureOf, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";

const held = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: true, holder, expiresAt, token });
const refused = (holder: string, expiresAt: number, token: number): LeaseResult => ({ ok: false, holder, expiresAt, token });

/**
 * Fakes timers and the clock (server and client share this process), starting now so tokens stay
 * valid. I/O and setImmediate stay real, so calls complete while fake time stands still.
 */
function fakeTimers(): number {
  const start = Date.now();
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: start });
  return start;
}

/** Waits for `condition` while real I/O runs, for at most 10 s of real time. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

interface Tracked<T> {
  settled: boolean;
  promise: Promise<T>;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { settled: false, promise };
  promise.then(
    () => (tracked.settled = true),
    () => (tracked.settled = true),
  );
  return tracked;
}

/** A promise `fn` can wait on, and its resolver. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

// These tests move the clock with fake timers; on PostgreSQL leases expire on the database's clock
// instead (store/postgres/instances.test.ts shows that).
describe.each(configurations.filter((configuration) => configuration.databaseClock !== true))("withLease over $name", (configuration) => {
  const harness = useHarness(configuration);

  beforeAll(async () => {
    // Connect with real timers, so the only fake timers a test sees are withLease's own.
    const { client, newStoreId } = harness();
    await client.getSpaces(newStoreId());
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("renews in the background at a third of the TTL, keeping the key past its TTL, then releases", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeTimers();
    const baseline = vi.getTimerCount();
    const done = gate();
    let seen: { lease: Lease; signal: AbortSignal } | undefined;
    const run = track(
      client.withLease(storeId, "job", { ttlMs: 3_000, holder: "w" }, async (signal, lease) => {
        seen = { lease, signal };
        await done.opened;
        return `token ${lease.token}`;
      }),
    );
    await until(() => seen !== undefined, "fn to start");
    const { lease, signal } = seen!;
    expect({ ...lease }).toEqual({ key: "job", holder: "w", token: 1, expiresAt: t0 + 3_000 });
    for (let second = 1; second <= 6; second++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await until(() => lease.expiresAt === t0 + second * 1_000 + 3_000, `renewal ${second}`);
    }
    // Twice the TTL has passed: the renewals kept the key.
    expect(signal.aborted).toBe(false);
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 1_000 })).toEqual(refused("w", t0 + 9_000, 1));
    done.open();
    expect(await run.promise).toBe("token 1");
    expect(vi.getTimerCount()).toBe(baseline);
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 1_000 })).toEqual(held("x", t0 + 7_000, 2));
  });

  it("aborts fn's signal when the lease lapsed and another holder took it, and leaves the new holder's lease alone", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeTimers();
    const baseline = vi.getTimerCount();
    let signal: AbortSignal | undefined;
    const run = track(
      client.withLease(storeId, "job", { ttlMs: 3_000, holder: "w" }, async (leaseSignal) => {
        signal = leaseSignal;
        await aborted(leaseSignal);
        return "stopped";
      }),
    );
    await until(() => signal !== undefined, "fn to start");
    // The holder stalls past its TTL (no timer of it runs) while "x" takes the key.
    vi.setSystemTime(t0 + 3_000);
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 60_000 })).toEqual(held("x", t0 + 63_000, 2));
    expect(signal!.aborted).toBe(false);
    // Its next renewal is refused: fn's signal aborts at once, naming the new holder.
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => signal!.aborted, "fn's signal to abort");
    expect(signal!.reason).toBeInstanceOf(StreamsError);
    expect(signal!.reason).toMatchObject({ kind: "unavailable", details: { holder: "x", token: 2 } });
    expect(await run.promise).toBe("stopped");
    expect(vi.getTimerCount()).toBe(baseline);
    // Its release after fn settled did not free the new holder's lease.
    expect(await client.acquireLease(storeId, "job", { holder: "y", ttlMs: 1_000 })).toEqual(refused("x", t0 + 63_000, 2));
  });

  it("aborts fn's signal when the lease is released under it", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    fakeTimers();
    let signal: AbortSignal | undefined;
    const run = track(
      client.withLease(storeId, "job", { ttlMs: 3_000, holder: "w" }, async (leaseSignal) => {
        signal = leaseSignal;
        await aborted(leaseSignal);
        leaseSignal.throwIfAborted();
      }),
    );
    await until(() => signal !== undefined, "fn to start");
    expect(await client.releaseLease(storeId, "job", { holder: "w" })).toMatchObject({ ok: true });
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await failureOf(() => run.promise);
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "unavailable", details: { holder: "" } });
  });

  it("aborts fn's signal with deadline_exceeded when no renewal gets through before expiry", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeTimers();
    const cut = connect();
    let signal: AbortSignal | undefined;
    const run = track(
      cut.withLease(storeId, "job", { ttlMs: 3_000, holder: "w" }, async (leaseSignal) => {
        signal = leaseSignal;
        await aborted(leaseSignal);
        leaseSignal.throwIfAborted();
      }),
    );
    await until(() => signal !== undefined, "fn to start");
    // Every renewal from now on fails.
    await cut.close();
    for (let second = 1; second <= 2; second++) {
      await vi.advanceTimersByTimeAsync(1_000);
      expect(signal!.aborted).toBe(false);
    }
    await vi.advanceTimersByTimeAsync(1_000);
    expect(signal!.aborted).toBe(true);
    const error = await failureOf(() => run.promise);
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "deadline_exceeded" });
    // It aborted no later than the store's expiry: the key is free for the next holder, token + 1.
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 1_000 })).toEqual(held("x", t0 + 4_000, 2));
  });

  it("with waitMs 0 tries once and fails with deadline_exceeded while another holder has the key", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const { expiresAt } = await client.acquireLease(storeId, "job", { holder: "a", ttlMs: 60_000 });
    let called = false;
    const error = await failureOf(() => client.withLease(storeId, "job", { ttlMs: 1_000, waitMs: 0 }, () => (called = true)));
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "deadline_exceeded", code: "transient", details: { holder: "a", expiresAt } });
    expect(called).toBe(false);
  });

  it("with waitMs > 0 waits exactly that long, then fails with deadline_exceeded", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeTimers();
    const baseline = vi.getTimerCount();
    await client.acquireLease(storeId, "job", { holder: "a", ttlMs: 60_000 });
    const run = track(client.withLease(storeId, "job", { ttlMs: 1_000, waitMs: 2_500 }, () => "ran"));
    for (let step = 0; step < 30 && !run.settled; step++) {
      // Each attempt is refused and the waiter sleeps again (or gives up).
      await until(() => run.settled || vi.getTimerCount() > baseline, "the next attempt");
      if (!run.settled) await vi.advanceTimersByTimeAsync(500);
    }
    expect(run.settled).toBe(true);
    expect(await failureOf(() => run.promise)).toMatchObject({ kind: "deadline_exceeded", details: { holder: "a" } });
    expect(Date.now() - t0).toBe(2_500);
    expect(vi.getTimerCount()).toBe(baseline);
  });

  it("waits while another holder has the key and takes it after release, with token + 1", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeTimers();
    const baseline = vi.getTimerCount();
    const other = connect();
    await other.acquireLease(storeId, "job", { holder: "a", ttlMs: 60_000 });
    const run = track(client.withLease(storeId, "job", { ttlMs: 5_000, holder: "b" }, (_signal, lease) => ({ ...lease })));
    await until(() => vi.getTimerCount() > baseline, "the first refusal");
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => vi.getTimerCount() > baseline, "the second refusal");
    expect(run.settled).toBe(false);
    await other.releaseLease(storeId, "job", { holder: "a" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await run.promise).toEqual({ key: "job", holder: "b", token: 2, expiresAt: t0 + 7_000 });
  });

  it("retries when the holder's lease expires, before the poll interval is up", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const t0 = fakeTimers();
    const baseline = vi.getTimerCount();
    await client.acquireLease(storeId, "job", { holder: "a", ttlMs: 1_500 });
    const run = track(client.withLease(storeId, "job", { ttlMs: 5_000, holder: "b" }, (_signal, lease) => lease.token));
    for (let step = 0; step < 30 && !run.settled; step++) {
      await until(() => run.settled || vi.getTimerCount() > baseline, "the next attempt");
      if (!run.settled) await vi.advanceTimersByTimeAsync(100);
    }
    expect(run.settled).toBe(true);
    expect(await run.promise).toBe(2);
    // Attempts at 0 and 1,000 ms (the poll interval), then at the expiry: 1,500 ms.
    expect(Date.now() - t0).toBe(1_500);
  });

  it("resolves to fn's result, or rejects with fn's error, and releases the lease either way", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    expect(await client.withLease(storeId, "job", { ttlMs: 60_000 }, async (_signal, lease) => lease.token * 10)).toBe(10);
    const boom = new Error("boom");
    expect(
      await failureOf(() =>
        client.withLease(storeId, "job", { ttlMs: 60_000 }, () => {
          throw boom;
        }),
      ),
    ).toBe(boom);
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 1_000 })).toMatchObject({ ok: true, token: 3 });
  });

  it("gives each call its own random holder by default", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const holders = new Set<string>();
    for (let i = 0; i < 3; i++) await client.withLease(storeId, "job", { ttlMs: 60_000 }, (_signal, lease) => holders.add(lease.holder));
    expect(holders.size).toBe(3);
  });

  it("on abort while fn runs aborts fn's signal, rejects with cancelled and releases", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const controller = new AbortController();
    const reason = new Error("shutting down");
    let fnReason: unknown;
    const run = client.withLease(storeId, "job", { ttlMs: 60_000, signal: controller.signal }, async (signal) => {
      controller.abort(reason);
      await aborted(signal);
      fnReason = signal.reason;
      return "finished anyway";
    });
    const error = await failureOf(() => run);
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "cancelled" });
    expect((error as StreamsError).cause).toBe(reason);
    expect(fnReason).toBe(reason);
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 1_000 })).toMatchObject({ ok: true, token: 2 });
  });

  it("on abort while waiting rejects with cancelled and never runs fn", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    fakeTimers();
    const baseline = vi.getTimerCount();
    const lease = await client.acquireLease(storeId, "job", { holder: "a", ttlMs: 60_000 });
    const controller = new AbortController();
    let called = false;
    const run = client.withLease(storeId, "job", { ttlMs: 1_000, signal: controller.signal }, () => (called = true));
    await until(() => vi.getTimerCount() > baseline, "the waiter to sleep");
    controller.abort("no longer needed");
    const error = await failureOf(() => run);
    expect(error).toMatchObject({ kind: "cancelled", cause: "no longer needed" });
    expect(called).toBe(false);
    expect(vi.getTimerCount()).toBe(baseline);
    expect(await client.acquireLease(storeId, "job", { holder: "x", ttlMs: 1_000 })).toEqual(refused("a", lease.expiresAt, 1));
  });
});
