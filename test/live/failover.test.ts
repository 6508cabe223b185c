import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { bytes, records } from "../support/data.js";
import { type Instance, type Instances, startInstances } from "../support/instances.js";
import { bounded } from "../support/waits.js";
import { DialRecorder } from "./failover-recorder.js";
import { expectCleanFailover, followAndPublishThroughLoss } from "./failover-scenario.js";
import { StatusRecorder } from "./subscriptions-recorder.js";
import { ignore, InventoryRecorder } from "./workers-recorder.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function threeInstances(): Promise<Instances> {
  const started = await startInstances(3);
  cleanups.push(() => started.close());
  return started;
}

/** A client given every instance's address (in a random order, the default). */
function failoverClient(set: Instances, log: DialRecorder): StreamsClient {
  const fast = { initialDelayMs: 5, maxDelayMs: 100 };
  const client = createClient(createWsProvider(set.instances.map((instance) => instance.url), { logger: log, retry: fast }), { retry: fast });
  cleanups.push(() => client.close());
  return client;
}

function instanceAt(set: Instances, url: string | undefined): Instance {
  const found = set.instances.find((instance) => instance.url === url);
  if (found === undefined) throw new Error(`no instance at ${url}`);
  return found;
}

describe("client failover across instances sharing storage (in-process instances, real WebSockets)", () => {
  for (const [how, stop] of [
    ["goes away (graceful shutdown, 1001)", (instance: Instance) => instance.goAway()],
    ["crashes (connections cut, port closed)", (instance: Instance) => instance.kill()],
  ] as const) {
    it(`a follow and four publishers go on through another instance when theirs ${how}`, async () => {
      const set = await threeInstances();
      const log = new DialRecorder();
      const client = failoverClient(set, log);
      const run = await followAndPublishThroughLoss({
        client,
        log,
        storeId: randomUUID(),
        stopInstance: (url) => stop(instanceAt(set, url)),
        publishers: 4,
        before: 50,
        after: 50,
      });
      expectCleanFailover(run, 400);
      expect(client.state).toMatchObject({ status: "connected", reconnects: 1 });
    });
  }

  it("subscriptions and worker streams open again on another instance, with a fresh snapshot", async () => {
    const set = await threeInstances();
    const storeId = randomUUID();
    const log = new DialRecorder();
    const client = failoverClient(set, log);
    await bounded(client.getSpaces(storeId), "the first connection");
    const first = instanceAt(set, client.state.url);
    const survivor = set.instances.findIndex((instance) => instance !== first);
    const local = set.local(survivor);
    await local.produce(storeId, "s", "g", records(1, 3));

    const statuses = new StatusRecorder();
    const subscription = await bounded(client.subscribeToSegment(storeId, "s", "g", statuses.listener), "subscribe");
    await statuses.untilSequence("g", 3);
    const observer = new InventoryRecorder();
    await using _observer = await bounded(local.subscribeWorkers(storeId, {}, observer.listener), "observe");
    const worker = await bounded(client.subscribeWorkers(storeId, { workerId: "w-1" }, ignore), "register");
    await observer.untilIds(["w-1"]);

    const inventories = observer.inventories.length;
    await first.kill();
    // Produced while the client moves: the snapshot on the new instance carries it.
    await local.produce(storeId, "s", "g", records(4, 2));
    await statuses.untilSequence("g", 5);
    await observer.untilSeen(inventories, [], "the worker to leave with its instance");
    await observer.untilIds(["w-1"]);
    await local.publish(storeId, "s", "g", bytes("live"));
    await statuses.untilSequence("g", 6);

    expect(client.state.url).not.toBe(first.url);
    expect(subscription.state).toMatchObject({ status: "connected", reconnects: 1 });
    expect(worker.state).toMatchObject({ status: "connected", reconnects: 1 });
    // Snapshot (3), snapshot on the new instance (5, or 3 then 5 if it came before the produce), then live (6).
    const sequences = statuses.sequencesOf("g");
    expect(sequences[0]).toBe(3);
    expect(sequences.at(-1)).toBe(6);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    await subscription.unsubscribe();
    await worker.unsubscribe();
  });
});
