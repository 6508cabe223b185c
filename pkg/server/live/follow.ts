import { MessageTypes, type OffsetKind, type SegmentStatus, StreamsError } from "../../api/internal/index.js";
import type { StoredEntry } from "../../../store/types.js";
import type { HandlerContext } from "../handlers/context.js";
import { sendEntries } from "../handlers/entries.js";
import { SpaceChanges } from "./follow-changes.js";
import { decodeSegmentNotification, segmentRoute } from "./notifications.js";

/** A read that can go on after its history: where it is, and how to read what came after. */
export interface ReadSource {
  /** The spaces the read covers. */
  readonly spaces: readonly string[];
  /**
   * Whether a commit (its segment's new head) may hold entries for this read; absent means every
   * commit in the read's spaces may.
   */
  concerns?(status: SegmentStatus): boolean;
  /** Which offsets the read's entries carry: segment offsets (by sequence) or space offsets (by position). */
  readonly offsets: OffsetKind;
  /**
   * The entries of `spaces` after those already taken, in the read's order and in chunks; taking a
   * chunk advances the read past it.
   */
  read(spaces: readonly string[]): AsyncIterable<StoredEntry[]>;
  /** No more entries can come: the limit, maxSequence or maxTimestamp was reached. */
  readonly finished: boolean;
}

/** A plain read: the history, once. */
export async function sendHistory(context: HandlerContext, source: ReadSource): Promise<void> {
  if (!source.finished) await sendEntries(context, source.read(source.spaces), source.offsets);
}

/**
 * A catch-up subscription (`follow: true`): history, then live entries as they commit, with no gap
 * and no duplicate.
 *
 * It subscribes to the spaces' routes on the bus before reading anything, and a notification only
 * marks its space as changed: nothing from it is kept. While a space is marked, the mark is cleared
 * and the space read again from storage after the last entry sent. Sends wait for flow control, so a
 * slow reader slows its own reads and the server holds a flag per space, never a backlog. A commit
 * made during a read marks its space again, and its entries are either in that read or in the next
 * one (reads resume after the last entry taken). The first time a read finds nothing marked, the
 * client is told `caught_up`. Notifications from other server instances arrive the same way, over
 * the bus; after a bus outage every space is read again.
 */
export async function follow(context: HandlerContext, source: ReadSource): Promise<void> {
  if (source.finished) return;
  const changes = new SpaceChanges(source.spaces);
  const unsubscribes = await subscribe(context, source, changes);
  const stopRefreshing = context.bus.onReconnect(() => changes.markAll());
  try {
    let caughtUp = false;
    for (;;) {
      while (changes.any && !source.finished) await sendEntries(context, source.read(changes.take()), source.offsets);
      if (source.finished) return;
      if (!caughtUp) {
        caughtUp = true;
        await context.send({ $type: MessageTypes.caughtUp });
      }
      await changes.changed(context.signal);
    }
  } finally {
    stopRefreshing();
    await unsubscribeAll(context, unsubscribes);
  }
}

/** Subscribes to every space's route; all or nothing. */
async function subscribe(context: HandlerContext, source: ReadSource, changes: SpaceChanges): Promise<(() => Promise<void>)[]> {
  const subscribing = source.spaces.map((space) =>
    context.bus.subscribe(segmentRoute(context.storeId, space), (bytes) => {
      if (source.concerns === undefined) return changes.mark(space);
      const notification = decodeSegmentNotification(bytes);
      if (notification !== undefined && source.concerns(notification.status)) changes.mark(space);
    }),
  );
  const results = await Promise.allSettled(subscribing);
  const unsubscribes = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = results.find((result) => result.status === "rejected");
  if (failure === undefined) return unsubscribes;
  await unsubscribeAll(context, unsubscribes);
  throw new StreamsError("unavailable", "cannot follow: the bus refused a subscription", { cause: failure.reason });
}

async function unsubscribeAll(context: HandlerContext, unsubscribes: readonly (() => Promise<void>)[]): Promise<void> {
  const results = await Promise.allSettled(unsubscribes.map((unsubscribe) => unsubscribe()));
  for (const result of results) {
    if (result.status === "rejected") {
      const error: unknown = result.reason;
      context.logger.warn({ err: error, storeId: context.storeId }, "bus unsubscribe failed");
    }
  }
}
