import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient, type StreamsClient } from "streamkit-ts/client";
import { createWsProvider } from "streamkit-ts/transport/ws";
import { startLocalServer } from "../shared/local-server.js";
import { Changes, interruptSignal, runExample, smoke, within } from "../shared/run.js";
import { startDispatcher } from "./dispatcher.js";
import { type Owners, partitionsOf, type Plan } from "./plan.js";
import { runWorker } from "./worker.js";

const PARTITIONS = Array.from({ length: 6 }, (_, i) => `partition-${i}`);
const WORKERS = ["worker-1", "worker-2", "worker-3"];
const WAIT_MS = 15_000;

interface RunningWorker {
  stop: AbortController;
  stopped: Promise<void>;
}

runExample(async () => {
  const server = await startLocalServer();
  const storeId = randomUUID();
  const connect = (): StreamsClient => createClient(createWsProvider(server.wsUrl, { token: server.devToken }));
  const changes = new Changes();
  let latest: { sequence: number; plan: Plan } = { sequence: 0, plan: { workers: [], owners: {} } };
  /** The last plan each worker has read, and what it owns under it. */
  const taken = new Map<string, { sequence: number; partitions: string[] }>();
  const workers = new Map<string, RunningWorker>();

  const startWorker = (workerId: string) => {
    const client = connect();
    const stop = new AbortController();
    const onPlan = (sequence: number, partitions: string[]) => {
      taken.set(workerId, { sequence, partitions });
      changes.changed();
    };
    const stopped = runWorker({ client, storeId, workerId, onPlan, signal: stop.signal }).finally(() => client.close());
    workers.set(workerId, { stop, stopped });
  };
  const stopWorker = async (workerId: string) => {
    const worker = workers.get(workerId);
    workers.delete(workerId);
    taken.delete(workerId);
    worker?.stop.abort(new Error("stopped"));
    await worker?.stopped;
  };
  /** The latest plan is for exactly the running workers, gives each partition to one of them, and each has taken up its share. */
  const settled = () => {
    const running = [...workers.keys()].sort();
    return (
      latest.plan.workers.join() === running.join() &&
      PARTITIONS.every((partition) => running.includes(latest.plan.owners[partition] ?? "")) &&
      running.every((workerId) => taken.get(workerId)?.sequence === latest.sequence)
    );
  };

  const dispatcherClient = connect();
  const stopDispatcher = new AbortController();
  const interrupted = smoke ? undefined : interruptSignal();
  try {
    const dispatcher = await startDispatcher({
      client: dispatcherClient,
      storeId,
      partitions: PARTITIONS,
      signal: stopDispatcher.signal,
      onPlan: (sequence, plan) => {
        latest = { sequence, plan };
        changes.changed();
      },
    });
    for (const workerId of WORKERS) startWorker(workerId);
    if (!(await within(WAIT_MS, "the first plan to settle", changes.until(settled, interrupted)))) return;
    console.log(`${workers.size} workers share ${PARTITIONS.length} partitions`);

    const before: Owners = { ...latest.plan.owners };
    console.log("worker-2 stops: its presence stream closes and it leaves the pool at once");
    await stopWorker("worker-2");
    if (!(await within(WAIT_MS, "the plan without worker-2 to settle", changes.until(settled, interrupted)))) return;
    const moved = partitionsOf(before, "worker-2");
    const after = latest.plan.owners;
    const kept = PARTITIONS.filter((partition) => !moved.includes(partition)).every((partition) => after[partition] === before[partition]);
    if (!kept) throw new Error("partitions of workers that stayed were moved");
    console.log(`worker-2's work was reassigned: ${moved.map((partition) => `${partition} → ${after[partition]}`).join(", ")}; the others kept theirs`);

    // Until Ctrl-C: every few seconds a stopped worker comes back or a running one stops.
    while (!smoke && !interrupted?.aborted) {
      await sleep(3_000, undefined, { signal: interrupted }).catch(() => undefined);
      if (interrupted?.aborted) break;
      const stoppedOne = WORKERS.find((workerId) => !workers.has(workerId));
      if (stoppedOne !== undefined) {
        console.log(`${stoppedOne} starts`);
        startWorker(stoppedOne);
      } else {
        const leaving = WORKERS[Math.floor(Math.random() * WORKERS.length)]!;
        console.log(`${leaving} stops`);
        await stopWorker(leaving);
      }
    }
    await dispatcher.unsubscribe();
  } finally {
    await Promise.all([...workers.keys()].map(stopWorker));
    stopDispatcher.abort();
    await dispatcherClient.close();
    await server.close();
  }
});
