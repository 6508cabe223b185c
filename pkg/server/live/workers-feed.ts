import type { WorkerInventory } from "../../api/index.js";

/**
 * Sends inventories to one stream, latest wins: while a send waits for a slow client, newer
 * inventories replace the queued one, so a slow reader holds at most one and never delays the others.
 */
export class InventoryFeed {
  readonly #send: (inventory: WorkerInventory) => Promise<void>;
  #queued: WorkerInventory | undefined;
  #sending = false;
  #closed = false;
  #fail: (error: unknown) => void = () => undefined;
  /** Rejects with the first send failure; never resolves. */
  readonly failed: Promise<never>;

  constructor(send: (inventory: WorkerInventory) => Promise<void>) {
    this.#send = send;
    this.failed = new Promise<never>((_resolve, reject) => (this.#fail = reject));
    // Raced by the stream's handler while it runs; a failure after that has nobody left to tell.
    this.failed.catch(() => undefined);
  }

  push(inventory: WorkerInventory): void {
    if (this.#closed) return;
    this.#queued = inventory;
    if (!this.#sending) void this.#drain();
  }

  close(): void {
    this.#closed = true;
    this.#queued = undefined;
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      for (let next = this.#queued; next !== undefined && !this.#closed; next = this.#queued) {
        this.#queued = undefined;
        await this.#send(next);
      }
    } catch (error) {
      this.#closed = true;
      this.#fail(error);
    } finally {
      this.#sending = false;
    }
  }
}
