import { ClassicLevel } from "classic-level";
import { StreamsError } from "../../pkg/api/internal/index.js";
import { asLevelDb, BUFFERS, type StoreSublevel } from "./database.js";
import type { StorePlace } from "./place.js";
import { SharedWriter } from "./shared-writer.js";

/**
 * Table files the shared database keeps open. LevelDB reopens the others on demand; the cap keeps a
 * server's descriptors bounded however many stores it holds (docs/tenants.md).
 */
const MAX_OPEN_FILES = 256;

/** One shared database, open while any of its stores is. */
interface Shared {
  readonly root: ClassicLevel<Buffer, Buffer>;
  readonly writer: SharedWriter;
  refs: number;
  /** Store ids open in it: a store is open at most once (nothing else locks it). */
  readonly stores: Set<string>;
}

/** By location, for this process: every factory on one data directory shares its database. */
const databases = new Map<string, Promise<Shared>>();
const closing = new Map<string, Promise<void>>();

async function openShared(location: string): Promise<Shared> {
  const root = new ClassicLevel<Buffer, Buffer>(location, { ...BUFFERS, maxOpenFiles: MAX_OPEN_FILES });
  await root.open();
  return { root, writer: new SharedWriter(root), refs: 0, stores: new Set() };
}

async function acquire(location: string): Promise<Shared> {
  for (;;) {
    await closing.get(location);
    let opening = databases.get(location);
    if (opening === undefined) {
      opening = openShared(location);
      const attempt = opening;
      databases.set(location, attempt);
      attempt.catch(() => {
        if (databases.get(location) === attempt) databases.delete(location);
      });
    }
    const shared = await opening;
    // Released and closed while this caller waited: open it again.
    if (databases.get(location) !== opening) continue;
    shared.refs++;
    return shared;
  }
}

async function release(location: string, shared: Shared): Promise<void> {
  shared.refs--;
  if (shared.refs > 0) return;
  databases.delete(location);
  const closed = shared.writer
    .drain()
    .then(() => shared.root.close())
    .finally(() => {
      if (closing.get(location) === closed) closing.delete(location);
    });
  closing.set(location, closed.catch(() => undefined));
  await closed;
}

/** The first key after every key that starts with `prefix` (a sublevel prefix ends in a byte below 0xff). */
function upperBound(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

/**
 * A store's place in the shared database at `location`: its keys under a store-id prefix, its
 * commits sharing synced writes with every other store's. `prepare` runs before the place is handed
 * out (the import of a store kept in the per-store layout).
 */
export async function openSharedPlace(
  location: string,
  storeId: string,
  prepare: (sublevel: StoreSublevel, clear: () => Promise<void>) => Promise<void> = async () => undefined,
): Promise<StorePlace> {
  const shared = await acquire(location);
  if (shared.stores.has(storeId)) {
    await release(location, shared);
    throw new StreamsError("unavailable", `store ${storeId} is already open`);
  }
  shared.stores.add(storeId);
  const sublevel: StoreSublevel = shared.root.sublevel<Buffer, Buffer>(storeId, BUFFERS);
  const start = Buffer.from(sublevel.prefix, "utf8");
  const end = upperBound(start);
  const clear = (): Promise<void> => shared.root.clear({ gte: start, lt: end });
  const letGo = async (): Promise<void> => {
    shared.stores.delete(storeId);
    await release(location, shared);
  };
  try {
    await sublevel.open();
    await prepare(sublevel, clear);
  } catch (error) {
    await letGo();
    throw error;
  }
  return {
    db: asLevelDb(sublevel),
    writer: shared.writer.forStore(sublevel),
    compactRange: (from, to) => shared.root.compactRange(Buffer.concat([start, from]), Buffer.concat([start, to])),
    bytes: () => shared.root.approximateSize(start, end),
    async close(destroy) {
      try {
        // Deleting a store is one range delete of its prefix.
        if (destroy) await clear();
        await sublevel.close();
      } finally {
        await letGo();
      }
    },
  };
}
