import type { LevelDb } from "./database.js";

/** Puts and deletes of one synced write, in order. */
export interface KeyWrites {
  put(key: Buffer, value: Buffer): unknown;
  del(key: Buffer): unknown;
}

/** Makes a store's writes durable: `fill` adds them to the next synced write, which resolves once it is on disk. */
export interface BatchWriter {
  write(fill: (writes: KeyWrites) => void): Promise<void>;
}

/** One synced LevelDB write per call, on a database of its own (the per-store layout). */
export function directWriter(db: LevelDb): BatchWriter {
  return {
    async write(fill) {
      const batch = db.batch();
      try {
        fill(batch);
      } catch (error) {
        await batch.close();
        throw error;
      }
      await batch.write({ sync: true });
    },
  };
}
