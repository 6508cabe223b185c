import type { Retention } from "../../pkg/api/internal/index.js";
import { Heads } from "../heads.js";
import type { LevelDb } from "./group-commit.js";
import {
  isLeaseKey,
  isRetentionKey,
  isSegmentHeadKey,
  isSpaceHeadKey,
  OPEN_SCAN,
  parseRetentionKey,
  parseSegmentHeadKey,
  parseSpaceHeadKey,
  RETENTIONS,
} from "./keys.js";
import { decodeCommitNumber, decodeRetention, decodeSegmentHead, decodeSpaceHead } from "./values.js";

/** What a store needs in memory once open. */
export interface RecoveredStore {
  heads: Heads;
  /** Every space's retention, as stored. */
  retentions: Map<string, Retention>;
}

/** Entries read per step of the scan: a store's heads are usually a few keys. */
const SCAN_STEP = 256;

/**
 * Rebuilds a store's heads (from the head keys every commit writes along with its entries) and reads
 * its retentions: one iterator, seeking over the leases between them, as opening a store is on the
 * path of its first request and a shared database holds many (docs/tenants.md, "Many stores").
 */
export async function recoverStore(db: LevelDb): Promise<RecoveredStore> {
  const heads = new Heads();
  const retentions = new Map<string, Retention>();
  const iterator = db.iterator(OPEN_SCAN);
  try {
    for (let entries = await iterator.nextv(SCAN_STEP); entries.length > 0; entries = await iterator.nextv(SCAN_STEP)) {
      for (const [key, value] of entries) {
        if (isLeaseKey(key)) {
          // The rest of this step is leases (or retentions read again after the seek).
          iterator.seek(RETENTIONS.gte as Buffer);
          break;
        }
        if (isSegmentHeadKey(key)) {
          const [space, segment] = parseSegmentHeadKey(key);
          heads.setSegment(space, segment, decodeSegmentHead(value));
        } else if (isSpaceHeadKey(key)) {
          const [lastPosition, lastTimestamp] = decodeSpaceHead(value);
          heads.setSpace(parseSpaceHeadKey(key), lastPosition, lastTimestamp);
        } else if (isRetentionKey(key)) {
          retentions.set(parseRetentionKey(key), decodeRetention(value));
        } else {
          heads.commitNumber = decodeCommitNumber(value);
        }
      }
    }
  } finally {
    await iterator.close();
  }
  return { heads, retentions };
}
