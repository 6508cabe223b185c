import { assertName, invalidArgument, type LeaseResult, MAX_LEASE_TTL_MS } from "../pkg/api/internal/index.js";
import type { LeaseInfo, LeaseListOptions } from "./types.js";

/**
 * A key's lease as a backend keeps it. The token is the last one issued for the key and stays after
 * release or expiry (with `holder: ""`), so the next holder's token is always greater.
 */
export interface LeaseState {
  /** "" when released. */
  holder: string;
  /** Ms since epoch; the lease is held while `now < expiresAt`. */
  expiresAt: number;
  token: number;
}

/** What an operation decides: its result, and the state to store (undefined: nothing changes). */
export interface LeaseTransition {
  result: LeaseResult;
  next?: LeaseState;
}

/**
 * One lease operation as a pure function of the key's current state and the backend's clock. A
 * backend runs it atomically per key (a per-key lock, or a row lock in shared storage) and stores
 * `next` durably before answering.
 */
export type LeaseDecision = (current: LeaseState | undefined, now: number) => LeaseTransition;

const FREE: LeaseResult = { ok: false, holder: "", expiresAt: 0, token: 0 };

/** The live holder of a key at `now`, or undefined when it is free (never taken, released or expired). */
function liveHolder(current: LeaseState | undefined, now: number): LeaseState | undefined {
  return current !== undefined && current.holder !== "" && now < current.expiresAt ? current : undefined;
}

function refusal(live: LeaseState | undefined): LeaseTransition {
  return { result: live === undefined ? FREE : { ok: false, holder: live.holder, expiresAt: live.expiresAt, token: live.token } };
}

function granted(next: LeaseState): LeaseTransition {
  return { result: { ok: true, ...next }, next };
}

/** Takes a free key with the next token, or renews it for its live holder; refuses anyone else. */
export function acquireDecision(holder: string, ttlMs: number): LeaseDecision {
  return (current, now) => {
    const live = liveHolder(current, now);
    if (live === undefined) return granted({ holder, expiresAt: now + ttlMs, token: (current?.token ?? 0) + 1 });
    if (live.holder === holder) return granted({ holder, expiresAt: now + ttlMs, token: live.token });
    return refusal(live);
  };
}

/** Extends the live holder's lease, same token; a lapsed lease cannot be renewed (acquire it again). */
export function renewDecision(holder: string, ttlMs: number): LeaseDecision {
  return (current, now) => {
    const live = liveHolder(current, now);
    if (live?.holder !== holder) return refusal(live);
    return granted({ holder, expiresAt: now + ttlMs, token: live.token });
  };
}

/** Frees the key if `holder` holds it, keeping the token counter; never touches another holder's lease. */
export function releaseDecision(holder: string): LeaseDecision {
  return (current, now) => {
    const live = liveHolder(current, now);
    if (live?.holder !== holder) return refusal(live);
    return { result: { ...FREE, ok: true }, next: { holder: "", expiresAt: 0, token: live.token } };
  };
}

/** Lease TTL: an integer in 1..86,400,000 (24 h). */
export function checkLeaseTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_LEASE_TTL_MS) {
    throw invalidArgument("ttlMs", `must be an integer in 1..${MAX_LEASE_TTL_MS}`);
  }
}

/** Leases one listLeases call gives by default, and at most. */
export const DEFAULT_LEASE_LIST = 1_000;
export const MAX_LEASE_LIST = 10_000;

/** A listLeases page as every backend gets it: `after` undefined means from the first key. */
export interface LeasePage {
  after: string | undefined;
  limit: number;
}

/** Checks listLeases options: an object, `limit` an integer in 1..MAX_LEASE_LIST, `after` a valid key. */
export function leasePage(options: LeaseListOptions | undefined): LeasePage {
  if (options === undefined) return { after: undefined, limit: DEFAULT_LEASE_LIST };
  if (typeof options !== "object" || options === null) throw invalidArgument("options", "must be an object");
  const { limit = DEFAULT_LEASE_LIST, after } = options;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LEASE_LIST) {
    throw invalidArgument("limit", `must be an integer in 1..${MAX_LEASE_LIST}`);
  }
  if (after !== undefined) assertName(after, "after");
  return { after, limit };
}

/** The key's lease as listLeases shows it, or undefined when nobody holds it at `now` (released or expired). */
export function liveLease(key: string, state: LeaseState, now: number): LeaseInfo | undefined {
  const live = liveHolder(state, now);
  return live === undefined ? undefined : { key, holder: live.holder, expiresAt: live.expiresAt, token: live.token };
}
