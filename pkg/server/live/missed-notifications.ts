// The module's own timers, not the global ones: a test that fakes the global clock must not stall them.
import { clearTimeout, setTimeout } from "node:timers";
import type { Bus, ObservableBus } from "../../../bus/types.js";
import type { Logger } from "../../api/logger.js";
import { encodeRefresh, REFRESH_ROUTE, type RefreshAnnouncement } from "./refresh-route.js";

/** Spaces remembered at most; past it every store remembered counts whole, and past as many stores, everything. */
export const MAX_MISSED_SPACES = 10_000;
/** First wait before announcing again while the bus says it is up (a refused publish), doubling to the maximum. */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5_000;
/** Rough bytes of names per announcement, so a long list goes out as several moderate messages. */
const MESSAGE_NAME_BYTES = 64 * 1024;
const SEGMENT_ROUTE_PREFIX = "sk.segments.";

/** What is to be announced: everything, or per store its spaces (null: the whole store). */
interface Missed {
  everything: boolean;
  stores: Map<string, Set<string> | null>;
}

export interface MissedNotificationsOptions {
  bus: Bus;
  /** Id of this instance. */
  origin: string;
  logger: Logger;
  /** Default MAX_MISSED_SPACES. */
  maxSpaces?: number;
}

/**
 * The writer's side of a bus outage (docs/design.md, Buses). A commit notification the bus could not
 * publish (connecting, down, full, or refused by the server) reached no instance, and followers
 * elsewhere would learn of the commit only with the next one. This remembers the spaces of such
 * notifications, coalesced and bounded (a store with too many counts whole; too many stores count
 * as everything), and announces them on REFRESH_ROUTE once the bus can publish again: at once when
 * it reconnects, and after a growing wait while it stays up (an error answer). An announcement that
 * itself fails is remembered again. Needs a bus that reports drops (`onDropped`, every AbstractBus).
 */
export class MissedNotifications {
  readonly #bus: Bus & Partial<ObservableBus>;
  readonly #origin: string;
  readonly #logger: Logger;
  readonly #maxSpaces: number;
  #missed: Missed = { everything: false, stores: new Map() };
  #spaces = 0;
  /** Set while an announcement is out; a drop of REFRESH_ROUTE meanwhile marks it failed. */
  #announcing = false;
  #announceFailed = false;
  #retryMs = FIRST_RETRY_MS;
  #timer: NodeJS.Timeout | undefined;
  readonly #stops: (() => void)[] = [];
  #closed = false;

  constructor(options: MissedNotificationsOptions) {
    const bus: Bus & Partial<ObservableBus> = options.bus;
    this.#bus = bus;
    this.#origin = options.origin;
    this.#logger = options.logger;
    this.#maxSpaces = options.maxSpaces ?? MAX_MISSED_SPACES;
    if (typeof bus.onDropped === "function") this.#stops.push(bus.onDropped((route) => this.#dropped(route)));
    if (typeof bus.onConnectionChange === "function") {
      this.#stops.push(bus.onConnectionChange((connected) => connected && this.#announceSoon(0)));
    }
    this.#stops.push(bus.onReconnect(() => this.#announceSoon(0)));
  }

  /** Stores and spaces remembered, not yet announced (status and tests). */
  get pending(): { everything: boolean; stores: number; spaces: number } {
    return { everything: this.#missed.everything, stores: this.#missed.stores.size, spaces: this.#spaces };
  }

  /** Stops listening and announcing; what is remembered is forgotten. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const stop of this.#stops.splice(0)) stop();
  }

  #dropped(route: string): void {
    if (route === REFRESH_ROUTE) {
      if (this.#announcing) this.#announceFailed = true;
      return;
    }
    if (!route.startsWith(SEGMENT_ROUTE_PREFIX)) return;
    // `<storeId>.<space>`: a store id is a UUID, without dots (notifications.ts).
    const rest = route.slice(SEGMENT_ROUTE_PREFIX.length);
    const dot = rest.indexOf(".");
    if (dot <= 0) return;
    this.#add(rest.slice(0, dot), rest.slice(dot + 1));
    // A reconnect announces at once; this covers a bus that stays up but refused the publish.
    this.#announceSoon(this.#retryMs);
  }

  #add(storeId: string, space: string | null): void {
    const missed = this.#missed;
    if (missed.everything) return;
    const known = missed.stores.get(storeId);
    if (known === null) return;
    if (space === null) {
      this.#spaces -= known?.size ?? 0;
      missed.stores.set(storeId, null);
    } else if (known === undefined) {
      missed.stores.set(storeId, new Set([space]));
      this.#spaces++;
    } else if (!known.has(space)) {
      known.add(space);
      this.#spaces++;
    }
    if (this.#spaces > this.#maxSpaces) {
      for (const [id, spaces] of missed.stores) if (spaces !== null) missed.stores.set(id, null);
      this.#spaces = 0;
    }
    if (missed.stores.size > this.#maxSpaces) {
      this.#missed = { everything: true, stores: new Map() };
      this.#spaces = 0;
    }
  }

  #announceSoon(delayMs: number): void {
    if (this.#closed) return;
    if (delayMs === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      queueMicrotask(() => void this.#announce());
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        void this.#announce();
      }, delayMs).unref();
    }
  }

  async #announce(): Promise<void> {
    if (this.#closed || this.#announcing || this.#empty()) return;
    if (!this.#bus.connected) {
      // Its reconnect announces at once; the timer only covers a bus that does not report it.
      this.#announceSoon(this.#backOff());
      return;
    }
    const taken = this.#missed;
    this.#missed = { everything: false, stores: new Map() };
    this.#spaces = 0;
    this.#announcing = true;
    this.#announceFailed = false;
    for (const announcement of announcements(this.#origin, taken)) this.#bus.publish(REFRESH_ROUTE, encodeRefresh(announcement));
    await this.#bus.flush?.();
    this.#announcing = false;
    if (this.#announceFailed) {
      if (taken.everything) this.#missed = { everything: true, stores: new Map() };
      else for (const [storeId, spaces] of taken.stores) for (const space of spaces ?? [null]) this.#add(storeId, space);
      this.#logger.debug({}, "announcing missed commit notifications failed; will try again");
      this.#announceSoon(this.#backOff());
      return;
    }
    this.#retryMs = FIRST_RETRY_MS;
    this.#logger.info({ everything: taken.everything, stores: taken.stores.size }, "announced commits whose notifications the bus had dropped");
    if (!this.#empty()) this.#announceSoon(this.#retryMs);
  }

  #empty(): boolean {
    return !this.#missed.everything && this.#missed.stores.size === 0;
  }

  /** The current wait, doubling the next one up to the maximum. */
  #backOff(): number {
    const wait = this.#retryMs;
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    return wait;
  }
}

/** `missed` as announcements of moderate size. */
function announcements(origin: string, missed: Missed): RefreshAnnouncement[] {
  if (missed.everything) return [{ origin, all: true }];
  const out: RefreshAnnouncement[] = [];
  let current: [string, string[] | null][] = [];
  let bytes = 0;
  const push = (item: [string, string[] | null], size: number): void => {
    if (bytes + size > MESSAGE_NAME_BYTES && current.length > 0) {
      out.push({ origin, stores: current });
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  };
  for (const [storeId, spaces] of missed.stores) {
    if (spaces === null) {
      push([storeId, null], storeId.length);
      continue;
    }
    let part: string[] = [];
    let partBytes = storeId.length;
    for (const space of spaces) {
      if (partBytes + space.length > MESSAGE_NAME_BYTES && part.length > 0) {
        push([storeId, part], partBytes);
        part = [];
        partBytes = storeId.length;
      }
      part.push(space);
      partBytes += space.length + 4;
    }
    push([storeId, part], partBytes);
  }
  if (current.length > 0) out.push({ origin, stores: current });
  return out;
}
