import { describe, expect, it } from "vitest";
import { StreamsError, type WorkerInventory } from "../../pkg/client/index.js";
import { failureOf, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";
import { idsOf, ignore, InventoryRecorder, snapshot } from "./workers-recorder.js";
import { bounded } from "../support/waits.js";

const workerNamed = (inventory: WorkerInventory | undefined, workerId: string) => inventory?.workers.find((worker) => worker.workerId === workerId);

describe.each(configurations)("worker presence ($name)", (configuration) => {
  const harness = useHarness(configuration);

  it("an observer gets the inventory on open, then after every join and leave, with each worker's metadata and times", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const observer = new InventoryRecorder();
    const watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    // Established means the first inventory went through the listener.
    expect(observer.inventories).toEqual([{ workers: [] }]);
    expect(watch.state).toMatchObject({ status: "connected", reconnects: 0 });

    const workers = connect();
    const before = Date.now();
    const beta = await workers.subscribeWorkers(storeId, { workerId: "beta", metadata: { role: "indexer" } }, ignore);
    await observer.untilIds(["beta"]);
    const alpha = await workers.subscribeWorkers(storeId, { workerId: "alpha" }, ignore);
    const both = await observer.untilIds(["alpha", "beta"]);
    const after = Date.now();

    expect(workerNamed(both, "beta")?.metadata).toEqual({ role: "indexer" });
    expect(workerNamed(both, "alpha")?.metadata).toEqual({});
    for (const worker of both.workers) {
      expect(worker.since).toBeGreaterThanOrEqual(before);
      expect(worker.since).toBeLessThanOrEqual(after);
      expect(worker.lastSeen).toBe(worker.since);
    }

    await beta.unsubscribe();
    expect(await bounded(beta.closed, "beta's stream to close")).toBeUndefined();
    expect(beta.state.status).toBe("closed");
    await observer.untilIds(["alpha"]);
    await alpha.unsubscribe();
    await observer.untilIds([]);
    // One inventory on open and one per join and leave, nothing else.
    expect(observer.inventories.map(idsOf)).toEqual([[], ["beta"], ["alpha", "beta"], ["alpha"], []]);
    await watch.unsubscribe();
    expect(await watch.closed).toBeUndefined();
  });

  it("sorts workers by code point, and a worker stream receives inventories too", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const first = new InventoryRecorder();
    // U+1F600 sorts after U+FF5E by code point, though its UTF-16 units sort first; "Zed" before "alpha".
    const ids = ["\u{1F600}", "\uFF5E", "alpha", "Zed", "zeta", "émile"];
    const lead = await client.subscribeWorkers(storeId, { workerId: ids[0]! }, first.listener);
    expect(idsOf(first.latest)).toEqual([ids[0]]);
    const others = connect();
    const subscriptions = [];
    for (const workerId of ids.slice(1)) subscriptions.push(await others.subscribeWorkers(storeId, { workerId }, ignore));
    const sorted = ["Zed", "alpha", "zeta", "émile", "\uFF5E", "\u{1F600}"];
    await first.untilIds(sorted);
    expect(idsOf(await snapshot(others, storeId))).toEqual(sorted);
    await Promise.all([lead, ...subscriptions].map((subscription) => subscription.unsubscribe()));
  });

  it("the same worker id on a new stream replaces the old one, which ends cancelled and is not resumed", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const oldClient = connect();
    const newClient = connect();
    const old = await oldClient.subscribeWorkers(storeId, { workerId: "w", metadata: { generation: "1" } }, ignore);
    await observer.until((inventory) => workerNamed(inventory, "w")?.metadata.generation === "1", "the first registration");

    const newer = await newClient.subscribeWorkers(storeId, { workerId: "w", metadata: { generation: "2" } }, ignore);
    const ended = await bounded(old.closed, "the replaced stream to end");
    expect(ended).toBeInstanceOf(StreamsError);
    expect(ended).toMatchObject({ kind: "cancelled", code: "permanent" });
    expect(ended?.message).toMatch(/replaced by a newer stream/);
    expect(old.state).toMatchObject({ status: "closed", reconnects: 0 });

    await observer.until((inventory) => workerNamed(inventory, "w")?.metadata.generation === "2", "the newer registration");
    // Had the old stream registered again, it would have replaced the newer one (and ended it).
    const now = await snapshot(oldClient, storeId);
    expect(now.workers).toHaveLength(1);
    expect(now.workers[0]!.metadata).toEqual({ generation: "2" });
    expect(newer.state.status).toBe("connected");
    expect(observer.inventories.every((inventory) => inventory.workers.length <= 1)).toBe(true);
    await newer.unsubscribe();
    expect(await newer.closed).toBeUndefined();
  });

  it("a worker leaves when its client closes", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const workerClient = connect();
    const worker = await workerClient.subscribeWorkers(storeId, { workerId: "short-lived" }, ignore);
    await observer.untilIds(["short-lived"]);
    await workerClient.close();
    await observer.untilIds([]);
    expect(await bounded(worker.closed, "the worker's stream to end")).toMatchObject({ kind: "unavailable" });
  });

  it("an invalid worker id is invalid_argument from the server; wrong argument types are TypeErrors", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    for (const workerId of ["", "*", "a\u0001b"]) {
      const error = await failureOf(() => client.subscribeWorkers(storeId, { workerId }, ignore));
      expect(error).toMatchObject({ kind: "invalid_argument" });
    }
    const wrong: [unknown, unknown, unknown][] = [
      [42, {}, ignore],
      [storeId, "options", ignore],
      [storeId, {}, "not a function"],
      [storeId, { workerId: 7 }, ignore],
      [storeId, { workerId: "w", metadata: { n: 1 } }, ignore],
      [storeId, { metadata: { role: "observer" } }, ignore],
      [storeId, { workerId: "w", keepaliveMs: "10s" }, ignore],
      [storeId, { workerId: "w", keepaliveMs: 0 }, ignore],
      [storeId, { workerId: "w", signal: "abort" }, ignore],
    ];
    for (const [id, options, listener] of wrong) {
      const call = () => (client.subscribeWorkers as (...args: unknown[]) => Promise<unknown>)(id, options, listener);
      expect(await failureOf(call)).toBeInstanceOf(TypeError);
    }
  });

  it("an aborted signal ends the subscription with cancelled and the worker leaves", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const observer = new InventoryRecorder();
    await using _watch = await client.subscribeWorkers(storeId, {}, observer.listener);
    const controller = new AbortController();
    const worker = await connect().subscribeWorkers(storeId, { workerId: "abortable", signal: controller.signal }, ignore);
    await observer.untilIds(["abortable"]);
    const reason = new Error("shutting down");
    controller.abort(reason);
    const ended = await bounded(worker.closed, "the aborted worker to end");
    expect(ended).toMatchObject({ kind: "cancelled" });
    expect(ended?.cause).toBe(reason);
    await observer.untilIds([]);
    const refused = await failureOf(() => client.subscribeWorkers(storeId, { signal: controller.signal }, ignore));
    expect(refused).toMatchObject({ kind: "cancelled" });
  });
});
