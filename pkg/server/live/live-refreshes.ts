import type { Bus } from "../../../bus/types.js";
import type { Logger } from "../../api/logger.js";
import { decodeRefresh, REFRESH_ROUTE, type RefreshAnnouncement } from "./refresh-route.js";

/**
 * This instance's side of refresh announcements (refresh-route.ts, docs/design.md Buses): one bus
 * subscription to REFRESH_ROUTE, and per store and space the listeners (live tails, status
 * subscriptions) to call when an announcement names their space, their store, or everything. A
 * listener does what it does after its own bus reconnects: it looks at storage again.
 */
export class LiveRefreshes {
  readonly #logger: Logger;
  readonly #listeners = new Map<string, Map<string, Set<() => void>>>();
  #unsubscribe: Promise<(() => Promise<void>) | undefined>;

  constructor(bus: Bus, logger: Logger) {
    this.#logger = logger;
    this.#unsubscribe = bus.subscribe(REFRESH_ROUTE, (bytes) => this.#onAnnouncement(bytes)).catch((error: unknown) => {
      logger.warn({ err: error }, "cannot listen for refresh announcements on the bus");
      return undefined;
    });
  }

  /** Calls `listener` whenever an announcement names `space` of `storeId`; returns its removal. */
  listen(storeId: string, space: string, listener: () => void): () => void {
    let spaces = this.#listeners.get(storeId);
    if (spaces === undefined) this.#listeners.set(storeId, (spaces = new Map<string, Set<() => void>>()));
    let listeners = spaces.get(space);
    if (listeners === undefined) spaces.set(space, (listeners = new Set<() => void>()));
    const entry = (): void => listener();
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
      if (listeners.size > 0) return;
      spaces.delete(space);
      if (spaces.size === 0 && this.#listeners.get(storeId) === spaces) this.#listeners.delete(storeId);
    };
  }

  /** Calls the listeners `announcement` names. */
  refresh(announcement: RefreshAnnouncement): void {
    if (announcement.all === true) {
      for (const spaces of this.#listeners.values()) this.#call(spaces.values());
      return;
    }
    for (const [storeId, names] of announcement.stores ?? []) {
      const spaces = this.#listeners.get(storeId);
      if (spaces === undefined) continue;
      if (names === null) this.#call(spaces.values());
      else this.#call(names.map((name) => spaces.get(name) ?? new Set<() => void>()));
    }
  }

  async close(): Promise<void> {
    const unsubscribe = await this.#unsubscribe;
    this.#unsubscribe = Promise.resolve(undefined);
    await unsubscribe?.().catch(() => undefined);
  }

  #onAnnouncement(bytes: Uint8Array): void {
    const announcement = decodeRefresh(bytes);
    if (announcement === undefined) return;
    this.#logger.debug({ origin: announcement.origin }, "refreshing live reads on another instance's announcement");
    this.refresh(announcement);
  }

  #call(groups: Iterable<Set<() => void>>): void {
    for (const listeners of [...groups]) {
      for (const listener of [...listeners]) {
        try {
          listener();
        } catch (error) {
          this.#logger.error({ err: error }, "refresh listener threw");
        }
      }
    }
  }
}
