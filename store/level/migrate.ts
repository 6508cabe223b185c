import { ClassicLevel } from "classic-level";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { asLevelDb, BUFFERS, type StoreSublevel } from "./database.js";

/** Entries copied per write while importing. */
const CHUNK = 1024;

/** Whether `location` holds a LevelDB database (its CURRENT file names the live manifest). */
async function isDatabase(location: string): Promise<boolean> {
  try {
    return (await stat(join(location, "CURRENT"))).isFile();
  } catch {
    return false;
  }
}

/**
 * Moves a store kept in the per-store layout (its own database at `legacy`) into its place in the
 * shared database, then removes the old database (docs/tenants.md). Safe to repeat after a crash:
 * the old database goes only once a synced write has made the copy durable, and a repeat clears the
 * place first. False when there is nothing to import.
 */
export async function importOwnDatabase(legacy: string, sublevel: StoreSublevel, clear: () => Promise<void>): Promise<boolean> {
  if (!(await isDatabase(legacy))) return false;
  const into = asLevelDb(sublevel);
  const source = new ClassicLevel<Buffer, Buffer>(legacy, { ...BUFFERS, createIfMissing: false });
  await source.open();
  try {
    await clear();
    const iterator = source.iterator();
    try {
      for (let chunk = await iterator.nextv(CHUNK); chunk.length > 0; chunk = await iterator.nextv(CHUNK)) {
        await into.batch(chunk.map(([key, value]) => ({ type: "put" as const, key, value })));
      }
    } finally {
      await iterator.close();
    }
    // A synced write makes every write before it durable too.
    await into.put(IMPORTED_KEY, Buffer.alloc(0), { sync: true });
    await into.del(IMPORTED_KEY, { sync: true });
  } finally {
    await source.close();
  }
  await rm(legacy, { recursive: true, force: true });
  return true;
}

/** Outside every key range a store uses (keys.ts starts them at 0x01). */
const IMPORTED_KEY = Buffer.from([0x00]);
