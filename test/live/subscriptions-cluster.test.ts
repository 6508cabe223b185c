import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StreamsClient, StreamsError } from "../../pkg/client/index.js";
import { type Cluster, type ClusterBus, redisUrl, startCluster } from "../support/cluster.js";
import { bytes, collect, records } from "../support/data.js";
import { StatusRecorder } from "./subscriptions-recorder.js";
import { redis, skipping } from "../support/services.js";
import { bounded } from "../support/waits.js";

skipping(redis, "subscriptions across two instances over Redis");

/** Polls `ready` once per macrotask until it holds; fails after 10 s. */
async function until(ready: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("two instances, one shared store, memory bus", () => clusterSuite("memory"));
describe.skipIf(redisUrl === undefined)("two instances, one shared store, Redis bus", () => clusterSuite("redis"));

function clusterSuite(bus: ClusterBus): void {
  let cluster: Cluster;
  let a: StreamsClient;
  let b: StreamsClient;

  beforeAll(async () => {
    cluster = await startCluster({ bus });
    a = cluster.instances[0].connect();
    b = cluster.instances[1].connect();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it("both instances serve the same data and serialize writes to a segment", async () => {
    const storeId = cluster.newStoreId();
    const outcomes = await Promise.allSettled([a.produce(storeId, "s", "g", records(1, 2, "a")), b.produce(storeId, "s", "g", records(1, 2, "b"))]);
    const rejected = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect(((rejected[0] as PromiseRejectedResult).reason as StreamsError).kind).toBe("sequence_conflict");

    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).publish(storeId, "s", "g", bytes(`p${i}`))));
    for (const client of [a, b]) {
      const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
      expect(entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    }
  });

  it("a subscriber on one instance sees produces made through the other", async () => {
    const storeId = cluster.newStoreId();
    await b.produce(storeId, "orders", "o-1", records(1, 2));
    const segment = new StatusRecorder();
    const space = new StatusRecorder();
    await using _segment = await a.subscribeToSegment(storeId, "orders", "o-1", segment.listener);
    await using _space = await a.subscribeToSpace(storeId, "orders", space.listener);
    expect(segment.sequencesOf("o-1")).toEqual([2]);

    const [status] = await b.produce(storeId, "orders", "o-1", records(3, 3));
    const other = await b.publish(storeId, "orders", "o-2", bytes("x"));
    await segment.untilSequence("o-1", 5);
    await space.untilSequence("o-2", 1);
    expect(segment.statuses.at(-1)).toEqual(status);
    expect(space.statuses).toEqual(expect.arrayContaining([status, other]));
  });

  it("a node closing under a subscription is transient: it resubscribes and gets a snapshot again", async () => {
    const storeId = cluster.newStoreId();
    const [instance] = cluster.instances;
    const inProc = instance.connectInProc();
    await b.produce(storeId, "s", "g", records(1, 1));
    const recorder = new StatusRecorder();
    await using subscription = await inProc.subscribeToSegment(storeId, "s", "g", recorder.listener);
    await instance.manager.remove(storeId);
    await recorder.until(() => recorder.statuses.length === 2, "the snapshot again");
    await until(() => subscription.state.reconnects === 1, "the reconnect count");
    await b.publish(storeId, "s", "g", bytes("2"));
    await recorder.untilSequence("g", 2);
    expect(recorder.sequencesOf("g")).toEqual([1, 1, 2]);
    expect(subscription.state.status).toBe("connected");
  });

  it("a dropped WebSocket: reconnecting, then the snapshot again (with what changed meanwhile), then live", async () => {
    const storeId = cluster.newStoreId();
    const [instance] = cluster.instances;
    let dials = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    // Holds the redial until the test has produced during the outage.
    const token = async () => {
      if (dials++ > 0) await gate;
      return instance.token();
    };
    const client = instance.connect({ token, retry: { initialDelayMs: 1, jitter: 0 } });
    await b.produce(storeId, "s", "g", records(1, 2));
    const recorder = new StatusRecorder();
    const errors: StreamsError[] = [];
    await using subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener, { onError: (error) => errors.push(error) });

    expect(instance.dropConnections()).toBeGreaterThan(0);
    await until(() => subscription.state.status === "reconnecting", "state reconnecting");
    await b.produce(storeId, "s", "g", records(3, 2));
    openGate();
    await recorder.untilSequence("g", 4);
    expect(subscription.state).toMatchObject({ status: "connected", reconnects: 1 });
    await b.publish(storeId, "s", "g", bytes("5"));
    await recorder.untilSequence("g", 5);
    expect(recorder.sequencesOf("g")).toEqual([2, 4, 5]);
    expect(client.state.reconnects).toBe(1);
    expect(errors).toEqual([]);
  });

  it("closing the client ends its subscriptions without calling onError", async () => {
    const storeId = cluster.newStoreId();
    const client = cluster.instances[1].connect();
    const errors: StreamsError[] = [];
    const subscription = await client.subscribeToSpace(storeId, "s", () => undefined, { onError: (error) => errors.push(error) });
    await client.close();
    const closed = await bounded(subscription.closed, "closed");
    expect(closed).toBeInstanceOf(StreamsError);
    expect(subscription.state.status).toBe("closed");
    expect(errors).toEqual([]);
  });
}
