import { Heads } from "../heads.js";
import type { LevelDb } from "./group-commit.js";
import { parseSegmentHeadKey, parseSpaceHeadKey, SEGMENT_HEADS, SPACE_HEADS, STORE_HEAD_KEY } from "./keys.js";
import { decodeCommitNumber, decodeSegmentHead, decodeSpaceHead } from "./values.js";

/** Rebuilds a store's heads from the head keys every commit writes along with its entries. */
export async function recoverHeads(db: LevelDb): Promise<Heads> {
  const heads = new Heads();
  for await (const [key, value] of db.iterator(SEGMENT_HEADS)) {
    const [space, segment] = parseSegmentHeadKey(key);
    heads.setSegment(space, segment, decodeSegmentHead(value));
  }
  for await (const [key, value] of db.iterator(SPACE_HEADS)) {
    const [lastPosition, lastTimestamp] = decodeSpaceHead(value);
    heads.setSpace(parseSpaceHeadKey(key), lastPosition, lastTimestamp);
  }
  const commitNumber = await db.get(STORE_HEAD_KEY);
  if (commitNumber !== undefined) heads.commitNumber = decodeCommitNumber(commitNumber);
  return heads;
}
