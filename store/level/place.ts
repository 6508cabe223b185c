import { ClassicLevel } from "classic-level";
import { rm } from "node:fs/promises";
import { BUFFERS, type LevelDb } from "./database.js";
import { directoryBytes } from "./lifecycle-io.js";
import { type BatchWriter, directWriter } from "./writer.js";

/**
 * Where one store's keys live (docs/tenants.md): a database of its own (the per-store layout) or its
 * prefixed range of the data directory's shared database. The store reads through `db` and makes its
 * commits durable through `writer`.
 */
export interface StorePlace {
  readonly db: LevelDb;
  readonly writer: BatchWriter;
  /** Compacts the store's keys in [start, end) (keys as the store sees them). */
  compactRange(start: Buffer, end: Buffer): Promise<void>;
  /** Bytes the store takes on disk (approximate in a shared database). */
  bytes(): Promise<number>;
  /** Lets go of the store's keys; `destroy` removes them first. */
  close(destroy: boolean): Promise<void>;
}

/** Opens (creating if needed) a database of the store's own at `location`. */
export async function openOwnPlace(location: string): Promise<StorePlace> {
  const db = new ClassicLevel<Buffer, Buffer>(location, BUFFERS);
  await db.open();
  return {
    db,
    writer: directWriter(db),
    compactRange: (start, end) => db.compactRange(start, end),
    bytes: () => directoryBytes(location),
    async close(destroy) {
      await db.close();
      if (destroy) await rm(location, { recursive: true, force: true });
    },
  };
}
