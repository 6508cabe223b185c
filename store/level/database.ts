import type { AbstractSublevel } from "abstract-level";
import type { ClassicLevel } from "classic-level";

/**
 * A store's keys: a LevelDB database of its own, or its prefixed part of a shared one (docs/tenants.md).
 * Typed as the database class: a sublevel forwards every option (`sync`, `highWaterMarkBytes`) to
 * it, and the only methods of the class a sublevel lacks (compaction, sizes) go through StorePlace.
 */
export type LevelDb = ClassicLevel<Buffer, Buffer>;

/** A store's part of the shared database. */
export type StoreSublevel = AbstractSublevel<ClassicLevel<Buffer, Buffer>, string | Buffer | Uint8Array, Buffer, Buffer>;

/** A sublevel seen as the database it forwards to (see LevelDb). */
export function asLevelDb(sublevel: StoreSublevel): LevelDb {
  return sublevel as unknown as LevelDb;
}

export const BUFFERS = { keyEncoding: "buffer", valueEncoding: "buffer" } as const;
