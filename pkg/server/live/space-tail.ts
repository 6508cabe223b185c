import { encodeMessage, type SegmentStatus, StreamsError } from "../../api/internal/index.js";
// The module's own timers, not the global ones: a test that fakes the global clock for the SDK in
// the same process must not stall the server's reads (they would wait on a timer no one advances).
import { clearTimeout, setTimeout } from "node:timers";
import type { Bus } from "../../../bus/types.js";
import type { Store } from "../../../store/types.js";
import { type EntriesBatch, EntriesPacker } from "../handlers/entries.js";
import { spaceChunks } from "../handlers/store-chunks.js";
import type { Logger } from "../../api/logger.js";
import type { LiveRefreshes } from "./live-refreshes.js";
import { decodeSegmentNotification, segmentRoute } from "./notifications.js";
import { type TailBlock, TailWindow, type WindowPlace } from "./tail-window.js";

export interface SpaceTailOptions {
  storeId: string;
  space: string;
  store: Store;
  bus: Bus;
  /** Announcements of commits another instance's bus could not notify. */
  refreshes: LiveRefreshes;
  logger: Logger;
  /** Byte limit of the window (docs/configuration.md, `liveWindowBytes`). */
  windowBytes: number;
}

/** Rough per-entry cost of holding a stored entry (object, strings, metadata) beside its payload. */
const ENTRY_OVERHEAD_BYTES = 160;

/**
 * Least time between the starts of two reads. A read right after a quiet spell starts at once; under
 * a stream of commits they gather for up to this long, so each block (one message per follower)
 * carries several commits instead of one: at 1,000 commits/s, ~4 entries a message for at most 4 ms
 * of added lag.
 */
export const TAIL_READ_INTERVAL_MS = 4;

/** A follower of the tail: told when the window changes and, if it asks, of every commit's new head. */
export interface TailListener {
  /** A block came, the window was reset, or a read found nothing new. */
  changed(): void;
  /** A segment of the space has a new head (undefined: notifications may have been lost, look again). */
  status?(status: SegmentStatus | undefined): void;
}

/**
 * The shared live tail of one space on this node (docs/configuration.md, "Live tail"): one bus
 * subscription and one reader for every follower of the space. Each commit notification makes it
 * read the space from storage after the last entry it has, once, pack what it finds into `entries`
 * messages, encode each once and append it to the window; followers whose position reached a block
 * send its bytes as they are. A follower the window has left behind reads storage itself and comes
 * back (see follow-space.ts).
 */
export class SpaceTail {
  readonly space: string;
  readonly window: TailWindow;
  /** Storage reads made by this tail (tests check they do not grow with followers). */
  reads = 0;
  /** Times a follower joined the window, and times one fell out of it (it then reads storage). */
  joins = 0;
  fellBehind = 0;
  readonly #options: SpaceTailOptions;
  readonly #listeners = new Set<TailListener>();
  /** Listeners that want heads: notifications are decoded only while there are some. */
  #statusListeners = 0;
  #dirty = true;
  #reading: Promise<void> | undefined;
  #lastReadAt = Number.NEGATIVE_INFINITY;
  #cancelPause: (() => void) | undefined;
  #closed = false;
  #unsubscribe: (() => Promise<void>) | undefined;
  #stopRefreshing: (() => void)[] = [];

  constructor(options: SpaceTailOptions) {
    this.#options = options;
    this.space = options.space;
    this.window = new TailWindow(options.windowBytes);
  }

  /** Subscribes to the space's commit notifications; rejects with `unavailable` when the bus refuses. */
  async open(): Promise<void> {
    const { bus, refreshes, storeId, space } = this.#options;
    try {
      this.#unsubscribe = await bus.subscribe(segmentRoute(storeId, space), (bytes) => {
        this.poke();
        if (this.#statusListeners > 0) this.#tellStatus(decodeSegmentNotification(bytes)?.status);
      });
    } catch (error) {
      throw new StreamsError("unavailable", "cannot follow: the bus refused a subscription", { cause: error });
    }
    // After a bus outage, this instance's or the committer's, notifications may have been lost: look again.
    const refresh = (): void => {
      this.poke();
      this.#tellStatus(undefined);
    };
    this.#stopRefreshing = [bus.onReconnect(refresh), refreshes.listen(storeId, space, refresh)];
  }

  /** Adds a follower; returns its removal. */
  listen(listener: TailListener): () => void {
    this.#listeners.add(listener);
    if (listener.status !== undefined) this.#statusListeners++;
    return () => {
      if (this.#listeners.delete(listener) && listener.status !== undefined) this.#statusListeners--;
    };
  }

  /** Something may have been committed: read after the head (once the window is anchored). */
  poke(): void {
    this.#dirty = true;
    this.#startReading();
  }

  /**
   * Where a follower that has taken every entry up to `position` stands. The first follower anchors
   * the window at its position; one ahead of the window makes it read.
   */
  place(position: number): WindowPlace {
    if (this.window.head === undefined) {
      this.window.anchor(position);
      // Commits since that follower's last read may have notified before the anchor: read once.
      this.poke();
    }
    const place = this.window.place(position);
    if (place.kind === "ahead") this.poke();
    if (place.kind === "in") this.joins++;
    return place;
  }

  /** Unsubscribes and stops reading. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelPause?.();
    for (const stop of this.#stopRefreshing) stop();
    this.window.reset();
    this.#wake();
    await this.#reading;
    try {
      await this.#unsubscribe?.();
    } catch (error) {
      this.#options.logger.warn({ err: error, storeId: this.#options.storeId }, "bus unsubscribe failed");
    }
  }

  #startReading(): void {
    if (this.#reading !== undefined || this.#cancelPause !== undefined || this.#closed || !this.#dirty || this.window.head === undefined) return;
    const wait = this.#lastReadAt + TAIL_READ_INTERVAL_MS - performance.now();
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.#cancelPause = undefined;
        this.#startReading();
      }, wait).unref();
      this.#cancelPause = () => clearTimeout(timer);
      return;
    }
    this.#reading = this.#drain().finally(() => {
      this.#reading = undefined;
      // A follower may have anchored the window again while a failed read was winding down.
      this.#startReading();
    });
  }

  /** Reads while something is marked; a mark made during a read is read after the pause (#startReading). */
  async #drain(): Promise<void> {
    if (this.#dirty && !this.#closed && this.window.head !== undefined) {
      // Cleared before reading: a commit during the read marks it again, and reads resume after the head.
      this.#dirty = false;
      this.#lastReadAt = performance.now();
      try {
        await this.#readOnce(this.window.head);
        // Followers waiting for the window to reach them look again even when nothing came.
        this.#wake();
      } catch (error) {
        // Followers fall back to reading storage themselves, where a lasting failure reaches them.
        this.#options.logger.warn({ err: error, storeId: this.#options.storeId, space: this.space }, "live tail read failed");
        this.window.reset();
        this.#wake();
      }
    }
  }

  async #readOnce(after: number): Promise<void> {
    const { store, space } = this.#options;
    this.reads++;
    const packer = new EntriesPacker("space");
    for await (const chunk of spaceChunks(store, { space, afterPosition: after })) {
      if (this.#closed) return;
      for (const entry of chunk) {
        const full = packer.add(entry);
        if (full !== undefined) this.#append(full);
      }
    }
    const rest = packer.finish();
    if (rest !== undefined && !this.#closed) this.#append(rest);
  }

  #append({ message, entries }: EntriesBatch): void {
    const after = this.window.head;
    if (after === undefined) return;
    // msgpackr may reuse its buffer for the next message: the window keeps its own copy.
    const bytes = encodeMessage(message).slice();
    let size = bytes.byteLength;
    for (const entry of entries) size += entry.payload.byteLength + ENTRY_OVERHEAD_BYTES;
    const block: TailBlock = { after, last: (entries.at(-1) as (typeof entries)[number]).position, entries, message, bytes, size };
    this.window.append(block);
    this.#wake();
  }

  #wake(): void {
    for (const listener of this.#listeners) listener.changed();
  }

  #tellStatus(status: SegmentStatus | undefined): void {
    for (const listener of this.#listeners) listener.status?.(status);
  }
}
