import { MessageTypes } from "../../api/internal/index.js";
import type { StoredEntry } from "../../../store/types.js";
import type { SpacesReadSource } from "../handlers/consume-spaces-source.js";
import type { HandlerContext } from "../handlers/context.js";
import { sendEntries } from "../handlers/entries.js";
import type { SpaceTail } from "./space-tail.js";

/**
 * `consume_space` with `follow: true` on the space's shared live tail (docs/configuration.md, "Live tail").
 *
 * The follower reads storage at its own pace until a read finds nothing new, then joins the tail
 * at its position and sends the tail's blocks as they come: the bytes the tail encoded once, or,
 * for a block it starts in the middle of or that its limit or time window cuts, the part it takes.
 * When the window has dropped its next block (it fell behind by more than the window holds) it
 * reads storage again from its own position and rejoins. Positions only grow and every block starts
 * where the one before ended, so nothing is skipped or sent twice; a block that does not start at
 * or before the follower's position sends it back to storage rather than leave a gap.
 */
export async function followSpace(context: HandlerContext, source: SpacesReadSource): Promise<void> {
  const space = source.spaces[0];
  if (space === undefined || source.spaces.length !== 1) throw new Error("followSpace follows exactly one space");
  if (source.finished) return;
  const lease = await context.liveTails.acquire(space);
  try {
    let caughtUp = false;
    for (;;) {
      await sendEntries(context, source.read(source.spaces), source.offsets);
      if (source.finished) return;
      const block = await join(context, lease.tail, source, space);
      if (block === undefined) continue;
      if (!caughtUp) {
        caughtUp = true;
        await context.send({ $type: MessageTypes.caughtUp });
      }
      if (await sendLive(context, lease.tail, source, space, block)) return;
    }
  } finally {
    await lease.release();
  }
}

/** The first block the follower takes, or undefined when the window has moved past it. */
async function join(context: HandlerContext, tail: SpaceTail, source: SpacesReadSource, space: string): Promise<number | undefined> {
  for (;;) {
    const place = tail.place(source.positionIn(space));
    if (place.kind === "in") return place.block;
    if (place.kind === "behind") return undefined;
    // Ahead: the follower read entries the tail has not yet; the tail is reading them now.
    await tail.changed(context.signal);
  }
}

/** Sends blocks from `first` on; true once the read is finished, false to go back to storage. */
async function sendLive(context: HandlerContext, tail: SpaceTail, source: SpacesReadSource, space: string, first: number): Promise<boolean> {
  for (let number = first; ; ) {
    const block = tail.window.block(number);
    if (block === "evicted") {
      tail.fellBehind++;
      return false;
    }
    if (block === undefined) {
      if (tail.window.head === undefined) return false; // the tail was reset
      await tail.changed(context.signal);
      continue;
    }
    number++;
    const position = source.positionIn(space);
    if (block.after > position) return false;
    const taken = source.takeLive(space, block.entries);
    if (block.after === position && taken.length === block.entries.length) await context.sendEncoded(block.message, block.bytes);
    else if (taken.length > 0) await sendEntries(context, once(taken), source.offsets);
    if (source.finished) return true;
  }
}

async function* once(entries: StoredEntry[]): AsyncGenerator<StoredEntry[]> {
  yield entries;
}
