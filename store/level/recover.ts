import { Heads } from "../heads.js";
import type { LevelDb } from "./group-commit.js";
import { HEADS, isSegmentHeadKey, isSpaceHeadKey, parseSegmentHeadKey, parseSpaceHeadKey } from "./keys.js";
import { decodeCommitNumber, decodeSegmentHead, decodeSpaceHead } from "./values.js";

/**
 * Rebuilds a store's heads from the head keys every commit writes along with its entries: one range
 * scan, as opening a store is on the path of its first request (docs/tenants.md).
 */
export async function recoverHeads(db: LevelDb): Promise<Heads> {
  const heads = new Heads();
  for await (const [key, value] of db.iterator(HEADS)) {
    if (isSegmentHeadKey(key)) {
      const [space, segment] = parseSegmentHeadKey(key);
      heads.setSegment(space, segment, decodeSegmentHead(value));
    } else if (isSpaceHeadKey(key)) {
      const [lastPosition, lastTimestamp] = decodeSpaceHead(value);
      heads.setSpace(parseSpaceHeadKey(key), lastPosition, lastTimestamp);
    } else {
      heads.commitNumber = decodeCommitNumber(value);
    }
  }
  return heads;
}
