import { MessageTypes } from "../../api/internal/index.js";
import type { StoredEntry } from "../../../store/types.js";
import type { SpacesReadSource } from "../handlers/consume-spaces-source.js";
import type { HandlerContext } from "../handlers/context.js";
import { sendEntries } from "../handlers/entries.js";
import { mergeByTimestamp } from "../handlers/merge.js";
import type { LiveTails, TailLease } from "./live-tails.js";
import type { SpaceTail } from "./space-tail.js";
import type { TailBlock } from "./tail-window.js";
import { Wakeup } from "./wakeup.js";

/** A followed space: its tail, and the number of the tail block the follower takes next (undefined: not joined). */
interface Cursor {
  readonly space: string;
  readonly tail: SpaceTail;
  next: number | undefined;
}

/** What one pass took from one space's next block. */
interface Piece {
  block: TailBlock;
  entries: StoredEntry[];
  /** The follower took the whole block from its start: the block's own bytes can go as they are. */
  whole: boolean;
}

/**
 * `consume_space` and `consume` with `follow: true`, on the shared live tails of their spaces
 * (docs/configuration.md, "Live tail").
 *
 * The follower reads storage at its own pace until a read finds nothing new, then joins each
 * space's tail at its position there and takes the tail's blocks as they come: the bytes the tail
 * encoded once when it takes a whole block of one space, or, for a block it starts in the middle of,
 * that its limit or time window cuts, or that comes beside another space's, the entries it takes
 * (several spaces' merged by (timestamp, space), as a read merges them). A space whose next block
 * the window has dropped (the follower fell behind by more than the window holds) is read from
 * storage again from the follower's position, and rejoined. Positions only grow and every block
 * starts where the one before ended, so nothing is skipped or sent twice; a block that does not
 * start at or before the follower's position sends that space back to storage rather than leave a gap.
 * A pass takes at most one block per space, so a follower holds no more than that.
 */
export async function followSpaces(context: HandlerContext, source: SpacesReadSource, op: "consume_space" | "consume" = "consume_space"): Promise<void> {
  if (source.finished) return;
  const leases = await acquireAll(context.liveTails, source.spaces);
  const wakeup = new Wakeup();
  const stops = leases.map(({ tail }) => tail.listen({ changed: wakeup.wake }));
  stops.push(
    context.follows.add({
      op,
      origin: context.origin,
      since: Date.now(),
      targets: () => source.spaces.map((space) => ({ space, segment: null, position: source.positionIn(space) })),
      lastTimestamp: () => source.lastTimestamp,
    }),
  );
  try {
    const cursors: Cursor[] = leases.map(({ tail }) => ({ space: tail.space, tail, next: undefined }));
    let stale = [...source.spaces];
    let caughtUp = false;
    for (;;) {
      if (stale.length > 0) {
        await sendEntries(context, source.read(stale), source.offsets);
        if (source.finished) return;
      }
      stale = join(cursors, source);
      if (stale.length > 0) continue;
      if (!caughtUp && cursors.every((cursor) => cursor.next !== undefined)) {
        caughtUp = true;
        await context.send({ $type: MessageTypes.caughtUp });
      }
      const { pieces, moved } = takeBlocks(cursors, source, stale);
      await sendPieces(context, pieces);
      if (source.finished) return;
      if (!moved && stale.length === 0) await wakeup.wait(context.signal);
    }
  } finally {
    for (const stop of stops) stop();
    await Promise.all(leases.map((lease) => lease.release()));
  }
}

/** Joins every space's tail that can be joined; returns the spaces the window has moved past (read storage first). */
function join(cursors: readonly Cursor[], source: SpacesReadSource): string[] {
  const stale: string[] = [];
  for (const cursor of cursors) {
    if (cursor.next !== undefined) continue;
    const place = cursor.tail.place(source.positionIn(cursor.space));
    if (place.kind === "in") cursor.next = place.block;
    else if (place.kind === "behind") stale.push(cursor.space);
    // Ahead: the follower read entries the tail has not yet; the tail is reading them now.
  }
  return stale;
}

/** Takes each joined space's next block, if it came; a space that must go back to storage is added to `stale`. */
function takeBlocks(cursors: readonly Cursor[], source: SpacesReadSource, stale: string[]): { pieces: Piece[]; moved: boolean } {
  const pieces: Piece[] = [];
  let moved = false;
  for (const cursor of cursors) {
    if (cursor.next === undefined || source.finished) continue;
    const { tail, space } = cursor;
    const block = tail.window.block(cursor.next);
    if (block === undefined && tail.window.head !== undefined) continue;
    const position = source.positionIn(space);
    if (block === undefined || block === "evicted" || block.after > position) {
      // Fell out of the window, the window was reset, or it would leave a gap: read storage.
      if (block === "evicted") tail.fellBehind++;
      cursor.next = undefined;
      stale.push(space);
      continue;
    }
    cursor.next++;
    moved = true;
    const entries = source.takeLive(space, block.entries);
    if (entries.length > 0) pieces.push({ block, entries, whole: block.after === position && entries.length === block.entries.length });
  }
  return { pieces, moved };
}

async function sendPieces(context: HandlerContext, pieces: readonly Piece[]): Promise<void> {
  const [first] = pieces;
  if (first === undefined) return;
  if (pieces.length > 1) {
    await sendEntries(context, mergeByTimestamp(pieces.map((piece) => once(piece.entries)), Number.POSITIVE_INFINITY), "space");
  } else if (first.whole) await context.sendEncoded(first.block.message, first.block.bytes);
  else await sendEntries(context, once(first.entries), "space");
}

/** Every space's tail, or none: a refusal releases those already held. */
async function acquireAll(tails: LiveTails, spaces: readonly string[]): Promise<TailLease[]> {
  const results = await Promise.allSettled(spaces.map((space) => tails.acquire(space)));
  const leases = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = results.find((result) => result.status === "rejected");
  if (failure === undefined) return leases;
  await Promise.all(leases.map((lease) => lease.release()));
  throw failure.reason;
}

export async function* once(entries: StoredEntry[]): AsyncGenerator<StoredEntry[]> {
  yield entries;
}
