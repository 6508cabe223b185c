import { decodeAny, encodeValue, type SegmentStatus } from "../../api/internal/index.js";
import type { Bus } from "../../../bus/types.js";

/**
 * Bus routes and payloads. A store id is a UUID (no dots), so `<storeId>.<space>` is unambiguous
 * whatever the space name holds.
 */
export const segmentRoute = (storeId: string, space: string): string => `sk.segments.${storeId}.${space}`;
export const workersRoute = (storeId: string): string => `sk.workers.${storeId}`;

/** What every instance learns after a commit: the segment's new head. */
export interface SegmentNotification {
  status: SegmentStatus;
  /** Id of the server instance that committed. */
  origin: string;
}

export function encodeSegmentNotification(notification: SegmentNotification): Uint8Array {
  return encodeValue(notification);
}

/** Decodes a notification; undefined for anything malformed (a bus carries what others publish). */
export function decodeSegmentNotification(bytes: Uint8Array): SegmentNotification | undefined {
  try {
    const value = decodeAny(bytes) as Partial<SegmentNotification> | null;
    const status = value?.status;
    if (typeof status !== "object" || status === null || typeof status.space !== "string" || typeof status.segment !== "string") {
      return undefined;
    }
    if (typeof status.lastSequence !== "number") return undefined;
    return { status, origin: typeof value?.origin === "string" ? value.origin : "" };
  } catch {
    return undefined;
  }
}

/** Tells every instance about a commit. Never waits and never throws: the bus drops and counts what it cannot carry. */
export function notifyCommitted(bus: Bus, storeId: string, origin: string, status: SegmentStatus): void {
  bus.publish(segmentRoute(storeId, status.space), encodeSegmentNotification({ status, origin }));
}

/**
 * Notifies the commits of one store, coalesced: the statuses that reach it in one microtask
 * checkpoint (a group commit resolves all its batches at once) go out as one notification per
 * segment, carrying its latest head. Subscribers want the head, and a follower re-reads from its
 * own position, so no one needs the heads in between.
 */
export class CommitNotifier {
  readonly #pending = new Map<string, SegmentStatus>();
  #scheduled = false;

  constructor(
    private readonly bus: Bus,
    private readonly storeId: string,
    private readonly origin: string,
  ) {}

  committed(status: SegmentStatus): void {
    const key = `${status.space}\u0000${status.segment}`;
    const known = this.#pending.get(key);
    // At an equal head, the later status wins: a lifecycle change (truncate, close, delete) follows the commits it covers.
    // After a tombstone any commit wins: the segment was written again (after a hard purge, from 1).
    if (known === undefined || known.lastSequence <= status.lastSequence || known.deleted === true) this.#pending.set(key, status);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    for (const status of this.#pending.values()) notifyCommitted(this.bus, this.storeId, this.origin, status);
    this.#pending.clear();
  }
}
