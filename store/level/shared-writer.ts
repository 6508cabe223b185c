import type { ClassicLevel } from "classic-level";
import type { StoreSublevel } from "./database.js";
import type { BatchWriter, KeyWrites } from "./writer.js";

interface Queued {
  fill: (writes: KeyWrites) => void;
  sublevel: StoreSublevel;
  resolve(): void;
  reject(error: unknown): void;
}

type Write = [key: Buffer, value: Buffer | undefined];

/**
 * Keys and values one write takes before the stores queued after it wait for the next. Many stores'
 * commits at once made writes of several MB, which cost more CPU per byte to build, block the event
 * loop while built and keep every record of them in memory until the sync (docs/tenants.md, "Many
 * stores"); LevelDB groups its own concurrent writes up to 1 MiB for the same reasons.
 */
const MAX_WRITE_BYTES = 1024 * 1024;

/**
 * Group commit across stores (docs/tenants.md): the writes every store hands over in one turn of the
 * event loop, and those that arrive while a write runs, go to disk as one synced LevelDB write of the
 * shared database, up to MAX_WRITE_BYTES each. One write runs at a time, in the order handed over.
 */
export class SharedWriter {
  readonly #root: ClassicLevel<Buffer, Buffer>;
  #queue: Queued[] = [];
  #writing: Promise<void> | undefined;
  #scheduled = false;

  constructor(root: ClassicLevel<Buffer, Buffer>) {
    this.#root = root;
  }

  /** A store's writer: its keys go under `sublevel`'s prefix. */
  forStore(sublevel: StoreSublevel): BatchWriter {
    return {
      write: (fill) =>
        new Promise<void>((resolve, reject) => {
          this.#queue.push({ fill, sublevel, resolve, reject });
          this.#schedule();
        }),
    };
  }

  /** Resolves once everything queued is written (or has failed). */
  async drain(): Promise<void> {
    while (this.#writing !== undefined || this.#queue.length > 0) {
      if (this.#writing === undefined) this.#flush();
      await this.#writing;
    }
  }

  #schedule(): void {
    if (this.#writing !== undefined || this.#scheduled) return;
    this.#scheduled = true;
    // After this turn, so the stores whose commits land in the same turn share the write.
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#writing === undefined) this.#flush();
    });
  }

  #flush(): void {
    if (this.#queue.length === 0) return;
    this.#writing = this.#write().finally(() => {
      this.#writing = undefined;
      if (this.#queue.length > 0) this.#flush();
    });
  }

  /** Writes the commits at the head of the queue, up to MAX_WRITE_BYTES; the rest wait for the next write. */
  async #write(): Promise<void> {
    const batch = this.#root.batch();
    const included: Queued[] = [];
    let bytes = 0;
    let taken = 0;
    for (; taken < this.#queue.length && bytes < MAX_WRITE_BYTES; taken++) {
      const item = this.#queue[taken] as Queued;
      // Collected first, so a store whose writes fail to build adds nothing and fails alone.
      const writes: Write[] = [];
      try {
        item.fill({ put: (key, value) => writes.push([key, value]), del: (key) => writes.push([key, undefined]) });
      } catch (error) {
        item.reject(error);
        continue;
      }
      const sublevel = { sublevel: item.sublevel };
      for (const [key, value] of writes) {
        bytes += key.byteLength + (value?.byteLength ?? 0);
        if (value === undefined) batch.del(key, sublevel);
        else batch.put(key, value, sublevel);
      }
      included.push(item);
    }
    this.#queue.splice(0, taken);
    try {
      if (included.length === 0) await batch.close();
      else await batch.write({ sync: true });
    } catch (error) {
      for (const item of included) item.reject(error);
      return;
    }
    for (const item of included) item.resolve();
  }
}
