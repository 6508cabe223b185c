import type { SegmentStatus, SpaceStatus, WorkerInfo } from "../api/index.js";
import type { Logger } from "../api/logger.js";
import type { LeaseInfo, Store } from "../../store/types.js";
import type { FollowView } from "./live/follows.js";
import type { LiveTailStats, LiveTailTotals } from "./live/live-tails.js";

/** At most this many spaces, and segments per space, in one drill-down: the answer stays bounded (docs/operator.md). */
export const DETAIL_MAX_SPACES = 100;
export const DETAIL_MAX_SEGMENTS = 200;
/** At most this many leases, and workers, in one drill-down (each listed by key / id). */
export const DETAIL_MAX_LEASES = 100;
export const DETAIL_MAX_WORKERS = 100;
/** At most this many open follows in one drill-down, the oldest first. */
export const DETAIL_MAX_FOLLOWERS = 100;

/** One segment as the store's status gives it. */
export type SegmentDetail = Omit<SegmentStatus, "space" | "heartbeat"> & { closed: boolean; deleted: boolean };

export interface SpaceDetail extends SpaceStatus {
  /** Its shared live tail on this instance; null when nobody follows the space here. */
  liveTail: LiveTailStats | null;
  /** The space's first DETAIL_MAX_SEGMENTS segments, sorted by name. */
  segments: SegmentDetail[];
  segmentsTruncated: boolean;
}

/** Where one open follow stands in a space or a segment, and how far behind its head. */
export interface FollowerTargetDetail {
  space: string;
  /** The followed segment; null for a space follow. */
  segment: string | null;
  /** Commit position (space follow) or sequence (segment follow) of the last entry taken; 0 when none. */
  position: number;
  /**
   * The head it is measured against: the position the space's live tail here has read through (space
   * follow), or the segment's last sequence in the store (segment follow); null when not known.
   */
  head: number | null;
  /** Entries between its position and the head (never negative); null when the head is not known. */
  behind: number | null;
}

/** One open follow read of the store on this instance (`consume_space`, `consume` or `consume_segment` with follow). */
export interface FollowerDetail {
  op: FollowView["op"];
  /** The connection and channel it came on (as `/api/status` lists connections); null in-process. */
  connection: string | null;
  channel: number | null;
  since: number;
  targets: FollowerTargetDetail[];
  /** Entries behind, summed over its targets; null when any target's head is not known. */
  behind: number | null;
  /** Timestamp of the newest entry it took; null when none yet. */
  lastTimestamp: number | null;
  /**
   * Lag in ms: the newest head timestamp of a target it is behind on, minus the timestamp of its newest
   * entry (0 when it is behind on nothing); null when not known (it took nothing yet, or a head is unknown).
   */
  lagMs: number | null;
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
  /** The store's open follows here, the first DETAIL_MAX_FOLLOWERS by start, with their lag. */
  followers: FollowerDetail[];
  followerCount: number;
  followersTruncated: boolean;
  /**
   * The store's first DETAIL_MAX_LEASES live leases, by key (expired and released ones are not listed);
   * null when the store's lease query failed (logged), the rest of the drill-down still answered.
   */
  leases: LeaseInfo[] | null;
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
  store: Pick<Store, "status" | "segmentStatuses" | "segmentStatus" | "listLeases">;
  liveTails: readonly LiveTailStats[];
  liveTailTotals: LiveTailTotals;
  /** The store's open follows here: the first `limit` (oldest first) and the count. */
  follows(limit: number): { views: FollowView[]; count: number };
  /** The position the space's live tail here has read through; undefined when unknown. */
  tailHead(space: string): number | undefined;
  /** The store's workers registry here, if any: its first `limit` workers by id and the count. */
  workers: ((limit: number) => { workers: WorkerInfo[]; count: number }) | null;
  /** Where a part of the drill-down that could not be read is reported. */
  logger: Logger;
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
  const follows = sources.follows(DETAIL_MAX_FOLLOWERS);
  const followers = await followerDetails(sources, follows.views, spaces, details);
  // One more than shown tells whether there are more, without counting them all.
  // A lease query that fails (say, its table unreachable) leaves out the leases, not the drill-down.
  const leases = await sources.store.listLeases({ limit: DETAIL_MAX_LEASES + 1 }).catch((error: unknown) => {
    sources.logger.warn({ err: error, storeId: sources.storeId }, "store drill-down: leases could not be listed");
    return null;
  });
  const workers = sources.workers?.(DETAIL_MAX_WORKERS) ?? null;
  return {
    storeId: sources.storeId,
    openStreams: sources.openStreams,
    lastAccess: sources.lastAccess,
    liveTails: sources.liveTailTotals,
    spaces: details,
    spacesTruncated: spaces.length > DETAIL_MAX_SPACES,
    followers,
    followerCount: follows.count,
    followersTruncated: follows.count > follows.views.length,
    leases: leases?.slice(0, DETAIL_MAX_LEASES) ?? null,
    leasesTruncated: leases !== null && leases.length > DETAIL_MAX_LEASES,
    workers: workers?.workers ?? null,
    workerCount: workers?.count ?? 0,
    workersTruncated: workers !== null && workers.count > workers.workers.length,
  };
}

/** What a follower's lag is measured against: a head position and its timestamp, each null when not known. */
interface Head {
  head: number | null;
  timestamp: number | null;
}

const UNKNOWN: Head = { head: null, timestamp: null };

/**
 * Each follow's targets against their heads: a space's position from the live tail here and its
 * timestamp from the store's status, a segment's from the statuses the drill-down read, or from the
 * store for a segment it did not show (one look per segment).
 */
async function followerDetails(
  sources: StoreDetailSources,
  views: readonly FollowView[],
  spaces: readonly SpaceStatus[],
  shown: readonly SpaceDetail[],
): Promise<FollowerDetail[]> {
  const spaceTimes = new Map(spaces.map((space) => [space.space, space.lastTimestamp]));
  const segmentHeads = new Map<string, Head>();
  for (const space of shown) {
    for (const segment of space.segments) segmentHeads.set(segmentKey(space.space, segment.segment), { head: segment.lastSequence, timestamp: segment.lastTimestamp });
  }
  const headOf = async (space: string, segment: string | null): Promise<Head> => {
    // A space with no entries has nothing to be behind on.
    if (segment === null) return { head: sources.tailHead(space) ?? null, timestamp: spaceTimes.get(space) ?? 0 };
    const key = segmentKey(space, segment);
    let head = segmentHeads.get(key);
    if (head === undefined) {
      const status = await sources.store.segmentStatus(space, segment);
      head = status === undefined ? { head: 0, timestamp: 0 } : { head: status.lastSequence, timestamp: status.lastTimestamp };
      segmentHeads.set(key, head);
    }
    return head;
  };
  const details: FollowerDetail[] = [];
  for (const view of views) {
    const lastTimestamp = view.lastTimestamp();
    const targets: FollowerTargetDetail[] = [];
    let behind: number | null = 0;
    let lagMs: number | null = 0;
    for (const { space, segment, position } of view.targets()) {
      const head = await headOf(space, segment).catch(() => UNKNOWN);
      const gap = head.head === null ? null : Math.max(0, head.head - position);
      targets.push({ space, segment, position, head: head.head, behind: gap });
      behind = behind === null || gap === null ? null : behind + gap;
      lagMs = lagMs === null ? null : combineLag(lagMs, gap, head.timestamp, lastTimestamp);
    }
    details.push({
      op: view.op,
      connection: view.origin?.connection ?? null,
      channel: view.origin?.channel ?? null,
      since: view.since,
      targets,
      behind,
      lastTimestamp: lastTimestamp === 0 ? null : lastTimestamp,
      lagMs,
    });
  }
  return details;
}

/**
 * A follow's lag so far with one more target: none on a target it is not behind on; else the target's
 * newest timestamp minus the follow's newest (a caught-up target's are equal); null when either is unknown.
 */
function combineLag(lagMs: number, gap: number | null, headTimestamp: number | null, lastTimestamp: number): number | null {
  if (gap === 0) return lagMs;
  if (headTimestamp === null) return null;
  if (headTimestamp <= lastTimestamp) return lagMs;
  return lastTimestamp === 0 ? null : Math.max(lagMs, headTimestamp - lastTimestamp);
}

const segmentKey = (space: string, segment: string): string => `${space}\u0000${segment}`;
