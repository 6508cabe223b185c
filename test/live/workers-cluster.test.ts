import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import type { BusFactory } from "../../bus/types.js";
import { createClient } from "../../pkg/client/index.js";
import { encodeValue } from "../../pkg/api/internal/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { workersRoute } from "../../pkg/server/live/notifications.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { type Cluster, type ClusterBus, redisUrl, startCluster } from "../support/cluster.js";
import { ignore, InventoryRecorder } from "./workers-recorder.js";
import { bounded } from "../support/waits.js";
import { redis, skipping } from "../support/services.js";

skipping(redis, "worker presence across instances over Redis");

function busFactoryFor(bus: ClusterBus): BusFactory {
  if (bus === "memory") return createMemoryBusFactory();
  // A prefix of its own, so concurrent test files on one Redis never hear each other.
  return createRedisBusFactory({ url: redisUrl!, channelPrefix: `streamkit-test:${randomUUID()}:`, maxReconnectDelayMs: 200 });
}

const buses: { bus: ClusterBus; skip: boolean }[] = [
  { bus: "memory", skip: false },
  { bus: "redis", skip: redisUrl === undefined },
];

for (const { bus, skip } of buses) {
  describe.skipIf(skip)(`worker presence across two instances (${bus} bus)`, () => {
    const storeFactory = createMemoryStoreFactory();
    let busFactory: BusFactory;
    let cluster: Cluster;

    beforeAll(async () => {
      busFactory = busFactoryFor(bus);
      cluster = await startCluster({ bus, busFactory, storeFactory });
    });

    afterAll(async () => {
      await cluster.close();
    });

    it("a worker registered on one instance is listed by observers on both, and its leave reaches both", async () => {
      const [a, b] = cluster.instances;
      const storeId = cluster.newStoreId();
      const onA = new InventoryRecorder();
      const onB = new InventoryRecorder();
      await using _watchA = await a.connect().subscribeWorkers(storeId, {}, onA.listener);
      await using _watchB = await b.connect().subscribeWorkers(storeId, {}, onB.listener);

      const worker = await a.connect().subscribeWorkers(storeId, { workerId: "on-a", metadata: { host: "a" } }, ignore);
      const seenOnB = await onB.untilIds(["on-a"]);
      const seenOnA = await onA.untilIds(["on-a"]);
      expect(seenOnB.workers).toEqual(seenOnA.workers);
      expect(seenOnB.workers[0]?.metadata).toEqual({ host: "a" });

      await using _other = await b.connect().subscribeWorkers(storeId, { workerId: "on-b" }, ignore);
      await onA.untilIds(["on-a", "on-b"]);
      await onB.untilIds(["on-a", "on-b"]);

      await worker.unsubscribe();
      await onB.untilIds(["on-b"]);
      await onA.untilIds(["on-b"]);
    });

    it("the same worker id registered on the other instance replaces the first stream, which ends cancelled", async () => {
      const [a, b] = cluster.instances;
      const storeId = cluster.newStoreId();
      const onA = new InventoryRecorder();
      const onB = new InventoryRecorder();
      await using _watchA = await a.connect().subscribeWorkers(storeId, {}, onA.listener);
      await using _watchB = await b.connect().subscribeWorkers(storeId, {}, onB.listener);
      const first = await a.connect().subscribeWorkers(storeId, { workerId: "w", metadata: { on: "a" } }, ignore);
      await onB.untilIds(["w"]);

      await using _second = await b.connect().subscribeWorkers(storeId, { workerId: "w", metadata: { on: "b" } }, ignore);
      expect(await bounded(first.closed, "the first stream to be replaced")).toMatchObject({ kind: "cancelled" });
      for (const recorder of [onA, onB]) {
        await recorder.until((inventory) => inventory?.workers.length === 1 && inventory.workers[0]?.metadata.on === "b", "the replacement");
      }
      expect(first.state.reconnects).toBe(0);
    });

    it("malformed messages on the workers route are ignored", async () => {
      const [a, b] = cluster.instances;
      const storeId = cluster.newStoreId();
      const onB = new InventoryRecorder();
      await using _watch = await b.connect().subscribeWorkers(storeId, {}, onB.listener);
      const present = { kind: "present", origin: "forger", session: "s", generation: 1, staleMs: 30_000 };
      const worker = { workerId: "w", since: 1, lastSeen: 1, metadata: {} };
      const forged = [
        new Uint8Array([0xc1, 0xff, 0x00]),
        encodeValue("not an object"),
        encodeValue({ ...present, worker: { ...worker, workerId: "*" } }),
        encodeValue({ ...present, staleMs: 0, worker }),
        encodeValue({ ...present, worker: { ...worker, metadata: { n: 1 } } }),
        encodeValue({ ...present, origin: undefined, worker }),
        encodeValue({ kind: "unknown", origin: "forger" }),
      ];
      for (const message of forged) a.manager.bus.publish(workersRoute(storeId), message);
      await using _worker = await a.connect().subscribeWorkers(storeId, { workerId: "genuine" }, ignore);
      await onB.untilIds(["genuine"]);
      expect(onB.inventories.map((inventory) => inventory.workers.map((worker) => worker.workerId))).toEqual([[], ["genuine"]]);
    });

    it("an instance started later converges to the same inventory by asking the others (sync)", async () => {
      const [a, b] = cluster.instances;
      const storeId = cluster.newStoreId();
      const onA = new InventoryRecorder();
      await using _watchA = await a.connect().subscribeWorkers(storeId, {}, onA.listener);
      // Keepalives (and the bus messages they cause) far apart: the late instance can learn of these only by asking.
      const keepaliveMs = 120_000;
      const fromA = await a.connect().subscribeWorkers(storeId, { workerId: "early-a", metadata: { n: "1" }, keepaliveMs }, ignore);
      await using _fromB = await b.connect().subscribeWorkers(storeId, { workerId: "early-b", keepaliveMs }, ignore);
      const settled = await onA.untilIds(["early-a", "early-b"]);

      const late = createNodeManager({ storeFactory, busFactory, idleEviction: false, nodeId: "late" });
      const client = createClient(createInProcProvider(late));
      try {
        const onLate = new InventoryRecorder();
        await using _watchLate = await client.subscribeWorkers(storeId, {}, onLate.listener);
        const converged = await onLate.untilIds(["early-a", "early-b"]);
        expect(converged.workers.map(({ workerId, since, metadata }) => ({ workerId, since, metadata }))).toEqual(
          settled.workers.map(({ workerId, since, metadata }) => ({ workerId, since, metadata })),
        );
        await fromA.unsubscribe();
        await onLate.untilIds(["early-b"]);
      } finally {
        await client.close();
        await late.close();
      }
    });
  });
}
