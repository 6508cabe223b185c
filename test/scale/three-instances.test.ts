import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Entry, type SegmentStatus, StreamsError, type WorkerInventory } from "../../pkg/api/index.js";
import type { StreamsClient } from "../../pkg/client/index.js";
import { postgres, redis, skipping } from "../support/services.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded, Conditions } from "../support/waits.js";
import { Cluster, type Instance } from "./cluster.js";

const skip = skipping(postgres, "three serve processes on PostgreSQL + Redis") || skipping(redis, "three serve processes on PostgreSQL + Redis");

const payload = (text: string): Buffer => Buffer.from(text);
const text = (entry: Entry): string => Buffer.from(entry.payload).toString();

/** Collects a follow read's entries in the background; `until` waits (bounded) for a count. */
class Follower {
  readonly entries: Entry[] = [];
  readonly #conditions = new Conditions();
  readonly done: Promise<void>;
  readonly #abort = new AbortController();

  constructor(read: (signal: AbortSignal) => AsyncIterable<Entry>) {
    this.done = (async () => {
      for await (const entry of read(this.#abort.signal)) {
        this.entries.push(entry);
        this.#conditions.check();
      }
    })().catch((error: unknown) => {
      if (!(error instanceof StreamsError && error.kind === "cancelled")) throw error;
    });
  }

  until(count: number, what: string): Promise<void> {
    return this.#conditions.until(() => this.entries.length >= count, () => `${what}: ${this.entries.length} of ${count}`, 30_000);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.done;
  }
}

/** The error a call failed with, or undefined when it succeeded. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe.skipIf(skip)("three streamkit serve processes sharing PostgreSQL and Redis", () => {
  let proxy: TcpProxy;
  let cluster: Cluster;
  let instances: Instance[];
  let clients: StreamsClient[];

  beforeAll(async () => {
    const target = new URL(postgres.url ?? "");
    // The instances reach PostgreSQL through a proxy, so a test can cut it without touching the shared server.
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    cluster = new Cluster({ postgresUrl: proxy.rewrite(postgres.url ?? ""), adminPostgresUrl: postgres.url ?? "", bus: { kind: "redis", url: redis.url ?? "" } });
    // One at a time: three processes compiling at once on a busy machine can outlast a start's bound.
    instances = [await cluster.start(), await cluster.start(), await cluster.start()];
    clients = instances.map((instance) => cluster.client(instance));
  }, 120_000);

  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
    await proxy?.[Symbol.asyncDispose]();
  });

  it("gives each sequence to exactly one of three producers racing through different instances", async () => {
    const storeId = randomUUID();
    const winners: number[] = [];
    for (let sequence = 1; sequence <= 20; sequence++) {
      const outcomes = await Promise.allSettled(
        clients.map((client, i) => client.produce(storeId, "race", "one", [{ sequence, payload: payload(`${sequence} by ${i}`) }])),
      );
      const won = outcomes.flatMap((outcome, i) => (outcome.status === "fulfilled" ? [i] : []));
      expect(won, `sequence ${sequence}`).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expect(outcome.reason).toMatchObject({ kind: "sequence_conflict" });
      }
      winners.push(won[0]!);
    }
    const stored: Entry[] = [];
    for await (const entry of clients[2]!.consumeSegment(storeId, { space: "race", segment: "one" })) stored.push(entry);
    expect(stored.map((entry) => entry.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(stored.map(text)).toEqual(winners.map((winner, i) => `${i + 1} by ${winner}`));
  });

  it("shows every instance's commits to follow consumers and subscribers on every instance, in one commit order", async () => {
    const storeId = randomUUID();
    const perInstance = 30;
    const followers = clients.map((client) => new Follower((signal) => client.consumeSpace(storeId, { space: "live", follow: true }, { signal })));
    const heads = clients.map(() => new Map<string, number>());
    const headsChanged = new Conditions();
    const subscriptions = await Promise.all(
      clients.map((client, i) =>
        client.subscribeToSpace(storeId, "live", (status: SegmentStatus) => {
          heads[i]!.set(status.segment, Math.max(heads[i]!.get(status.segment) ?? 0, status.lastSequence));
          headsChanged.check();
        }),
      ),
    );

    await Promise.all(
      clients.map(async (client, i) => {
        for (let n = 0; n < perInstance; n++) await client.publish(storeId, "live", `from-${i}`, payload(`${i}:${n}`));
      }),
    );

    await Promise.all(followers.map((follower, i) => follower.until(3 * perInstance, `follower on instance ${i}`)));
    await headsChanged.until(
      () => heads.every((seen) => [0, 1, 2].every((i) => seen.get(`from-${i}`) === perInstance)),
      () => `every subscriber to see every head: ${JSON.stringify(heads.map((seen) => [...seen]))}`,
      30_000,
    );
    const orders = followers.map((follower) => follower.entries.map((entry) => `${entry.segment}/${entry.sequence}`));
    expect(new Set(orders[0]).size).toBe(3 * perInstance);
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    for (const subscription of subscriptions) await subscription.unsubscribe();
    await Promise.all(followers.map((follower) => follower.stop()));
  });

  it("lets one of three instances hand a lease key to one holder, with a greater token for the next", async () => {
    const storeId = randomUUID();
    const results = await Promise.all(clients.map((client, i) => client.acquireLease(storeId, "leader", { holder: `h${i}`, ttlMs: 30_000 })));
    const granted = results.filter((result) => result.ok);
    expect(granted).toHaveLength(1);
    const [first] = granted;
    for (const result of results) expect(result.holder).toBe(first!.holder);

    const winner = results.indexOf(first!);
    await clients[winner]!.releaseLease(storeId, "leader", { holder: first!.holder });
    const next = (winner + 1) % clients.length;
    const second = await clients[next]!.acquireLease(storeId, "leader", { holder: `h${next}`, ttlMs: 30_000 });
    expect(second).toMatchObject({ ok: true, holder: `h${next}` });
    expect(second.token).toBeGreaterThan(first!.token);
  });

  it("lists, in an observer's first inventory on one instance, the live workers registered on the others", async () => {
    const storeId = randomUUID();
    const [a, b, c] = clients as [StreamsClient, StreamsClient, StreamsClient];
    const registered = new Conditions();
    let seenByWorkers = 0;
    const onInventory = (): void => {
      seenByWorkers++;
      registered.check();
    };
    const workers = [
      await a.subscribeWorkers(storeId, { workerId: "on-a" }, onInventory),
      await b.subscribeWorkers(storeId, { workerId: "on-b" }, onInventory),
    ];
    await registered.until(() => seenByWorkers >= 2, "both workers registered");

    // The observer's instance asks the instances it has heard of: wait until it heard of both others.
    await heardOthers(instances[2]!);
    const inventories: WorkerInventory[] = [];
    const observed = new Conditions();
    const observer = await c.subscribeWorkers(storeId, {}, (inventory) => {
      inventories.push(inventory);
      observed.check();
    });
    await observed.until(() => inventories.length > 0, "the first inventory");
    expect(inventories[0]!.workers.map((worker) => worker.workerId)).toEqual(["on-a", "on-b"]);
    await observer.unsubscribe();
    for (const worker of workers) await worker.unsubscribe();
  });

  it("lists every other instance in /api/status with its address, version, start time, load and state", async () => {
    interface Listed {
      address: string | null;
      version: string;
      startedAt: number;
      streams: number;
      connections: number;
      stale: boolean;
    }
    const [a] = instances as [Instance];
    const status = (await heardOthers(a)) as { instance: { address: string | null }; instances: Listed[] };
    const [listed, self] = [status.instances, status.instance];
    expect(self?.address).toBe(a.url);
    expect(listed.map((instance) => instance.address).sort()).toEqual(instances.slice(1).map((instance) => instance.url).sort());
    for (const instance of listed) {
      expect(instance).toMatchObject({ stale: false, version: expect.any(String) as string });
      expect(instance.startedAt).toBeGreaterThan(0);
      expect(instance.streams).toBeGreaterThanOrEqual(0);
    }
  });

  it("keeps a follow consumer exactly-once while its instance is SIGKILLed mid-load and it fails over to another", async () => {
    const storeId = randomUUID();
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const total = 150;
    // Both the follower and a publisher sit on the instance that dies; they fail over to the others.
    const follower = new Follower((signal) => cluster.client(c, [a, b]).consumeSegment(storeId, { space: "kill", segment: "s", follow: true }, { signal }));
    const publisher = cluster.client(c, [b, a]);
    const acknowledged: number[] = [];
    const errors: unknown[] = [];
    let killed: Promise<void> | undefined;
    while (acknowledged.length < total) {
      try {
        const status = await publisher.publish(storeId, "kill", "s", payload(`p${acknowledged.length}`));
        acknowledged.push(status.lastSequence);
      } catch (error) {
        errors.push(error);
        expect(error).toMatchObject({ kind: "unavailable" });
        expect(errors.length).toBeLessThan(50);
      }
      if (acknowledged.length === 50 && killed === undefined) {
        await follower.until(40, "the follower to be well under way");
        killed = cluster.kill(c);
      }
    }
    await killed;
    const last = acknowledged.at(-1)!;
    await follower.until(last, "the follower to catch up after failing over");
    const sequences = follower.entries.map((entry) => entry.sequence);
    expect(sequences).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    for (const sequence of acknowledged) expect(sequences).toContain(sequence);
    await follower.stop();
    instances = [a, b];
    clients = [clients[0]!, clients[1]!];
  });

  it("keeps every acknowledged entry through a PostgreSQL outage mid-load; calls fail unavailable meanwhile", async () => {
    const storeId = randomUUID();
    const acknowledged = clients.map(() => [] as number[]);
    const failures: unknown[] = [];
    const progress = new Conditions();
    let restored = false;
    const load = clients.map(async (client, i) => {
      // Bounded: each producer stops after 60 acknowledged publishes after the outage ended, or 400 attempts.
      for (let attempt = 0; attempt < 400; attempt++) {
        const outcome = await failure(
          client.publish(storeId, "outage", `seg-${i}`, payload(`${attempt}`)).then((status) => acknowledged[i]!.push(status.lastSequence)),
        );
        if (outcome !== undefined) failures.push(outcome);
        progress.check();
        if (restored && acknowledged[i]!.length >= 60) return;
      }
    });
    await progress.until(() => acknowledged.every((acks) => acks.length >= 20), "publishes before the outage");
    proxy.cut();
    await progress.until(() => failures.length >= clients.length, "calls failing during the outage");
    proxy.restore();
    restored = true;
    await bounded(Promise.all(load), "the load to finish", 60_000);

    for (const error of failures) expect(error).toMatchObject({ kind: "unavailable", code: "transient" });
    for (const [i, acks] of acknowledged.entries()) {
      const stored: number[] = [];
      for await (const entry of clients[0]!.consumeSegment(storeId, { space: "outage", segment: `seg-${i}` })) stored.push(entry.sequence);
      expect(stored).toEqual(Array.from({ length: stored.length }, (_, n) => n + 1));
      for (const sequence of acks) expect(stored).toContain(sequence);
    }
  });
});

/**
 * `/api/status` of `instance` once it lists the two other instances: instances announce themselves
 * every few seconds, so the status is polled (bounded) until both were heard.
 */
async function heardOthers(instance: Instance): Promise<{ instances: unknown[] }> {
  let status: { instances: unknown[] } = { instances: [] };
  await bounded(
    (async () => {
      for (;;) {
        status = (await (await fetch(`${instance.url}/api/status`)).json()) as { instances: unknown[] };
        if (status.instances.length >= 2) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })(),
    () => `two other instances in /api/status, got ${JSON.stringify(status.instances)}`,
    20_000,
  );
  return status;
}
