import { MessageTypes, type StreamsError } from "../../api/internal/index.js";
import type { SegmentReadSource } from "../handlers/consume-segment-source.js";
import type { HandlerContext } from "../handlers/context.js";
import { sendEntries } from "../handlers/entries.js";
import { once } from "./follow-space.js";
import { segmentPart } from "./segment-part.js";
import type { SpaceTail } from "./space-tail.js";
import { Wakeup } from "./wakeup.js";

/**
 * `consume_segment` with `follow: true`, on its space's shared live tail (docs/configuration.md,
 * "Live tail").
 *
 * The follower reads storage at its own pace until a read finds nothing new, then joins the tail at
 * a space position through which it has every entry of its segment, and takes its segment's part of
 * each block as blocks come: the part's bytes, encoded once per block for every follower of the
 * segment, or the entries it takes when its bounds cut the part. Falling out of the window, a reset
 * window, a gap in sequences, or its segment being closed or truncated past it sends it back to
 * storage (which ends a closed segment's read and answers a removed range with `out_of_range`).
 */
export async function followSegment(context: HandlerContext, source: SegmentReadSource): Promise<void> {
  if (source.finished) return;
  const lease = await context.liveTails.acquire(source.space);
  const tail = lease.tail;
  const wakeup = new Wakeup();
  /** A head of the segment came (or notifications may have been lost) since the last storage read. */
  let heard: boolean;
  /** The segment was closed or truncated past the read: go back to storage. */
  let ended = false;
  /** The segment was deleted or purged under the read: the follow ends with this. */
  let deleted: StreamsError | undefined;
  const unregister = context.follows.add({
    op: "consume_segment",
    origin: context.origin,
    since: Date.now(),
    targets: () => [{ space: source.space, segment: source.segment, position: source.position }],
    lastTimestamp: () => source.lastTimestamp,
  });
  const stop = tail.listen({
    changed: wakeup.wake,
    status(status) {
      if (status !== undefined && status.segment !== source.segment) return;
      heard = true;
      // Only a tombstone ends the follow here: a head behind the read may be a notification running
      // behind storage (a resume on another instance), so storage decides (`read`).
      deleted ??= status === undefined ? undefined : source.deletedBy(status);
      if (status === undefined || source.endsLive(status) || source.behind(status)) ended = true;
      wakeup.wake();
    },
  });
  try {
    let caughtUp = false;
    /** A space position through which the follower has every entry of its segment; undefined: read storage. */
    let covered: number | undefined;
    /** Number of the tail block it takes next; undefined: not joined. */
    let next: number | undefined;
    for (;;) {
      if (deleted !== undefined) throw deleted;
      if (covered === undefined) {
        heard = false;
        ended = false;
        covered = await readStorage(context, source, tail);
        if (source.finished) return;
        if (!caughtUp) {
          caughtUp = true;
          await context.send({ $type: MessageTypes.caughtUp });
        }
        // No position to join at (an empty segment, no one anchored the tail): wait for its first commit.
        if (covered === undefined) {
          while (!heard) await wakeup.wait(context.signal);
          continue;
        }
      }
      if (next === undefined) {
        const place = tail.place(covered);
        if (place.kind === "behind") covered = undefined;
        else if (place.kind === "ahead") await wakeup.wait(context.signal);
        else if (place.kind === "in") next = place.block;
        continue;
      }
      const block = ended ? "ended" : tail.window.block(next);
      if (block === undefined && tail.window.head !== undefined) {
        await wakeup.wait(context.signal);
        continue;
      }
      if (block === undefined || typeof block === "string" || block.after > covered) {
        if (block === "evicted") tail.fellBehind++;
        covered = next = undefined;
        continue;
      }
      const part = segmentPart(tail.window, next, block, source.segment);
      next++;
      covered = block.last;
      const { taken, gap } = source.takeLive(part.entries);
      if (taken.length === part.entries.length && part.bytes !== undefined && part.message !== undefined) {
        await context.sendEncoded(part.message, part.bytes);
      } else if (taken.length > 0) await sendEntries(context, once(taken), "segment");
      if (source.finished) return;
      if (gap) covered = next = undefined;
    }
  } finally {
    stop();
    unregister();
    await lease.release();
  }
}

/**
 * Reads storage after the follower's position to the end; returns a space position through which it
 * now has every entry of its segment, or undefined when it knows none.
 *
 * Every position up to the window's head was visible before the read began (nothing becomes visible
 * at a position before one already read), so the read saw every entry of the segment up to it; so it
 * did up to its own last entry, and up to the segment's last entry before it began.
 */
async function readStorage(context: HandlerContext, source: SegmentReadSource, tail: SpaceTail): Promise<number | undefined> {
  const head = tail.window.head;
  const before = head === undefined && source.lastPosition === undefined ? (await context.store.peek(source.space, source.segment))?.position : undefined;
  await sendEntries(context, source.read(), "segment");
  const known = [head, before, source.lastPosition].filter((position) => position !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}
