import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { StreamsError } from "../../pkg/api/internal/index.js";
import type { EntryPlace } from "../lifecycle.js";
import type { LevelDb } from "./group-commit.js";
import { numberKey, segmentBatchPrefix } from "./keys.js";
import { decodeBatch } from "./values.js";

/** Where a committed entry lies: its timestamp and commit position, from the batch that holds it. */
export async function readPlace(db: LevelDb, space: string, segment: string, sequence: number): Promise<EntryPlace> {
  const prefix = segmentBatchPrefix(space, segment);
  const [value] = await db.values({ gte: numberKey(prefix, sequence), lte: numberKey(prefix, Number.MAX_SAFE_INTEGER), limit: 1 }).all();
  const batch = value === undefined ? undefined : decodeBatch(value);
  if (batch === undefined || batch.firstSequence > sequence) {
    throw new StreamsError("unavailable", `entry ${sequence} of ${space}/${segment} is missing from storage`);
  }
  return { timestamp: batch.timestamp, position: batch.firstPosition + sequence - batch.firstSequence };
}

/** Bytes of the files of a database directory (LevelDB keeps no subdirectories). */
export async function directoryBytes(location: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(location)) {
    try {
      total += (await stat(join(location, name))).size;
    } catch {
      // A file compacted away between the listing and its stat.
    }
  }
  return total;
}
