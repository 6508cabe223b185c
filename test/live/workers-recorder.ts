import type { StreamsClient, WorkerInventory } from "../../pkg/client/index.js";
import { bounded, Conditions } from "../support/waits.js";

// Captured before any test fakes timers, so settling stays a real event-loop turn.
const realSetImmediate = globalThis.setImmediate;

/** The worker ids of an inventory, in its order. */
export const idsOf = (inventory: WorkerInventory | undefined): string[] => inventory?.workers.map((worker) => worker.workerId) ?? [];

/** Does nothing: the inventory listener of a worker whose inventories a test ignores. */
export const ignore = (): void => undefined;

/** Lets every pending microtask run (one real event-loop turn). */
export const settle = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/** Records the inventories a workers subscription delivers; a test waits, bounded, until one matches. */
export class InventoryRecorder {
  readonly inventories: WorkerInventory[] = [];
  readonly #conditions = new Conditions();

  /** Pass as `onInventory`. */
  readonly listener = (inventory: WorkerInventory): void => {
    this.inventories.push(inventory);
    this.#conditions.check();
  };

  get latest(): WorkerInventory | undefined {
    return this.inventories.at(-1);
  }

  /** Resolves with the latest inventory once it satisfies `ready`; rejects naming `what` after `timeoutMs`. */
  async until(ready: (inventory: WorkerInventory | undefined) => boolean, what: string, timeoutMs?: number): Promise<WorkerInventory> {
    await this.#conditions.until(() => ready(this.latest), `${what}; last inventory: ${JSON.stringify(this.latest)}`, timeoutMs);
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
