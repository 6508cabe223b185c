import type { SegmentStatus, SpaceStatus, WorkerInfo } from "../api/index.js";
import type { LeaseInfo, Store } from "../../store/types.js";
import type { LiveTailStats, LiveTailTotals } from "./live/live-tails.js";

/** At most this many spaces, and segments per space, in one drill-down: the answer stays bounded (docs/operator.md). */
export const DETAIL_MAX_SPACES = 100;
export const DETAIL_MAX_SEGMENTS = 200;
/** At most this many leases, and workers, in one drill-down (each listed by key / id). */
export const DETAIL_MAX_LEASES = 100;
export const DETAIL_MAX_WORKERS = 100;

/** One segment as the store's status gives it. */
export type SegmentDetail = Omit<SegmentStatus, "space" | "heartbeat"> & { closed: boolean; deleted: boolean };

export interface SpaceDetail extends SpaceStatus {
  /** Its shared live tail on this instance; null when nobody follows the space here. */
  liveTail: LiveTailStats | null;
  /** The space's first DETAIL_MAX_SEGMENTS segments, sorted by name. */
  segments: SegmentDetail[];
  segmentsTruncated: boolean;
}

/** One open store on this instance, as `GET /api/stores/:storeId` answers it (docs/operator.md). */
export interface StoreDetail {
  storeId: string;
  openStreams: number;
  lastAccess: number;
  /** The store's live tails summed (as in `/api/status`). */
  liveTails: LiveTailTotals;
  /** The store's first DETAIL_MAX_SPACES spaces, sorted by name. */
  spaces: SpaceDetail[];
  spacesTruncated: boolean;
  /** The store's first DETAIL_MAX_LEASES live leases, by key (expired and released ones are not listed). */
  leases: LeaseInfo[];
  leasesTruncated: boolean;
  /**
   * The store's first DETAIL_MAX_WORKERS live workers by id; null when this instance holds no workers
   * registry for it (no worker or observer used it here).
   */
  workers: WorkerInfo[] | null;
  /** Live workers in all (0 when `workers` is null), and whether `workers` shows only the first. */
  workerCount: number;
  workersTruncated: boolean;
}

export interface StoreDetailSources {
  storeId: string;
  openStreams: number;
  lastAccess: number;
  store: Pick<Store, "status" | "segmentStatuses" | "listLeases">;
  liveTails: readonly LiveTailStats[];
  liveTailTotals: LiveTailTotals;
  /** The store's workers registry here, if any: its first `limit` workers by id and the count. */
  workers: ((limit: number) => { workers: WorkerInfo[]; count: number }) | null;
}

const segmentDetail = ({ segment, firstSequence, firstTimestamp, lastSequence, lastTimestamp, closed, deleted }: SegmentStatus): SegmentDetail => ({
  segment,
  firstSequence,
  firstTimestamp,
  lastSequence,
  lastTimestamp,
  closed: closed === true,
  deleted: deleted === true,
});

/** Reads the store's spaces and their segments' statuses, and joins what this instance knows of them. */
export async function buildStoreDetail(sources: StoreDetailSources): Promise<StoreDetail> {
  const { spaces } = await sources.store.status();
  const tails = new Map(sources.liveTails.map((tail) => [tail.space, tail]));
  const shown = spaces.slice(0, DETAIL_MAX_SPACES);
  const details: SpaceDetail[] = [];
  for (const space of shown) {
    const statuses = await sources.store.segmentStatuses(space.space);
    details.push({
      ...space,
      liveTail: tails.get(space.space) ?? null,
      segments: statuses.slice(0, DETAIL_MAX_SEGMENTS).map(segmentDetail),
      segmentsTruncated: statuses.length > DETAIL_MAX_SEGMENTS,
    });
  }
  // One more than shown tells whether there are more, without counting them all.
  const leases = await sources.store.listLeases({ limit: DETAIL_MAX_LEASES + 1 });
  const workers = sources.workers?.(DETAIL_MAX_WORKERS) ?? null;
  return {
    storeId: sources.storeId,
    openStreams: sources.openStreams,
    lastAccess: sources.lastAccess,
    liveTails: sources.liveTailTotals,
    spaces: details,
    spacesTruncated: spaces.length > DETAIL_MAX_SPACES,
    leases: leases.slice(0, DETAIL_MAX_LEASES),
    leasesTruncated: leases.length > DETAIL_MAX_LEASES,
    workers: workers?.workers ?? null,
    workerCount: workers?.count ?? 0,
    workersTruncated: workers !== null && workers.count > workers.workers.length,
  };
}
