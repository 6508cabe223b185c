import { decodeBusRecord, encodeValue } from "../../api/internal/index.js";

/**
 * The bus route of refresh announcements (docs/design.md, Buses): an instance whose commit
 * notifications could not be published names, once it can publish again, the spaces (or whole
 * stores, or everything) whose followers and status subscribers should look again.
 */
export const REFRESH_ROUTE = "sk.refresh";

/** What to look at again: every store and space when `all`, else per store its spaces (null: all of them). */
export interface RefreshAnnouncement {
  /** Id of the instance that announces. */
  origin: string;
  all?: true;
  stores?: [storeId: string, spaces: string[] | null][];
}

export function encodeRefresh(announcement: RefreshAnnouncement): Uint8Array {
  return encodeValue(announcement);
}

/** Decodes an announcement; undefined for anything malformed (a bus carries what others publish). */
export function decodeRefresh(bytes: Uint8Array): RefreshAnnouncement | undefined {
  const value = decodeBusRecord(bytes);
  if (value === undefined) return undefined;
  const { origin, all, stores } = value as Partial<RefreshAnnouncement>;
  const announcement: RefreshAnnouncement = { origin: typeof origin === "string" ? origin : "" };
  if (all === true) return { ...announcement, all: true };
  if (!Array.isArray(stores)) return undefined;
  announcement.stores = [];
  for (const item of stores as unknown[]) {
    if (!Array.isArray(item) || typeof item[0] !== "string") return undefined;
    const spaces: unknown = item[1];
    if (spaces === null) announcement.stores.push([item[0], null]);
    else if (Array.isArray(spaces) && spaces.every((space) => typeof space === "string")) announcement.stores.push([item[0], spaces]);
    else return undefined;
  }
  return announcement;
}
