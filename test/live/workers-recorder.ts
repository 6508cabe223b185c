import type { StreamsClient, WorkerInventory } from "../../pkg/client/index.js";

// Captured before any test fakes timers, so every wait stays bounded in real time.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;

const DEFAULT_WAIT_MS = 10_000;

/** The worker ids of an inventory, in its order. */
export const idsOf = (inventory: WorkerInventory | undefined): string[] => inventory?.workers.map((worker) => worker.workerId) ?? [];

/** Does nothing: the inventory listener of a worker whose inventories a test ignores. */
export const ignore = (): void => undefined;

/** Lets every pending microtask run (one real event-loop turn). */
export const settle = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/** Resolves with what `promise` settles to, or rejects naming `what` after `timeoutMs` of real time. */
export async function bounded<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = realSetTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    realClearTimeout(timer);
  }
}

interface Waiter {
  ready: (inventory: WorkerInventory | undefined) => boolean;
  resolve: () => void;
}

/** Records the inventories a workers subscription delivers; a test waits, bounded, until one matches. */
export class InventoryRecorder {
  readonly inventories: WorkerInventory[] = [];
  #waiters: Waiter[] = [];

  /** Pass as `onInventory`. */
  readonly listener = (inventory: WorkerInventory): void => {
    this.inventories.push(inventory);
    const ready = this.#waiters.filter((waiter) => waiter.ready(inventory));
    this.#waiters = this.#waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  };

  get latest(): WorkerInventory | undefined {
    return this.inventories.at(-1);
  }

  /** Resolves with the latest inventory once it satisfies `ready`; rejects naming `what` after `timeoutMs`. */
  async until(ready: (inventory: WorkerInventory | undefined) => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<WorkerInventory> {
    if (!ready(this.latest)) {
      let waiter: Waiter | undefined;
      const arrived = new Promise<void>((resolve) => {
        waiter = { ready, resolve };
        this.#waiters.push(waiter);
      });
      try {
        await bounded(arrived, `${what}; last inventory: ${JSON.stringify(this.latest)}`, timeoutMs);
      } finally {
        this.#waiters = this.#waiters.filter((other) => other !== waiter);
      }
    }
    return this.latest!;
  }

  /** Waits until an inventory from number `from` on (0-based) lists exactly `ids`, even if later ones differ. */
  untilSeen(from: number, ids: string[], what: string, timeoutMs?: number): Promise<WorkerInventory> {
    const expected = JSON.stringify(ids);
    const seen = () => this.inventories.slice(from).some((inventory) => JSON.stringify(idsOf(inventory)) === expected);
    return this.until(seen, `${what} (workers ${expected})`, timeoutMs);
  }

  /** Waits until the latest inventory lists exactly `ids` (in that order). */
  untilIds(ids: string[], timeoutMs?: number): Promise<WorkerInventory> {
    const expected = JSON.stringify(ids);
    return this.until((inventory) => JSON.stringify(idsOf(inventory)) === expected, `workers ${expected}`, timeoutMs);
  }
}

/** The inventory a new observer gets on open: what the server's registry holds right now. */
export async function snapshot(client: StreamsClient, storeId: string): Promise<WorkerInventory> {
  const recorder = new InventoryRecorder();
  const observer = await bounded(client.subscribeWorkers(storeId, {}, recorder.listener), "an observer to open");
  await observer.unsubscribe();
  return recorder.inventories[0]!;
}
