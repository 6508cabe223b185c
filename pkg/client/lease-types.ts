import type { LeaseResult } from "../api/index.js";
import type { RequestOptions } from "./types.js";

export interface LeaseOptions extends RequestOptions {
  /** Who takes or keeps the lease: any valid name, unique per contender. */
  holder: string;
  /** 1..86,400,000 (24 h). */
  ttlMs: number;
}

export interface ReleaseLeaseOptions extends RequestOptions {
  holder: string;
}

export interface WithLeaseOptions extends RequestOptions {
  /** 1..86,400,000 (24 h); renewed in the background every third of it. */
  ttlMs: number;
  /** How long to wait while another holder has the key: absent = until `signal` aborts; 0 = try once. */
  waitMs?: number;
  /** Default: a random id, so each call is its own contender. */
  holder?: string;
}

/** The lease `withLease` holds while `fn` runs. `expiresAt` follows each renewal. */
export interface Lease {
  readonly key: string;
  readonly holder: string;
  /** Fencing token: pass it to downstream writes so they can refuse a stale holder. */
  readonly token: number;
  readonly expiresAt: number;
}

/** Leases (docs/leases.md): one holder per key per store, with a fencing token. */
export interface LeaseClient {
  /** Takes a free key (token one above its last) or renews it for its holder; else `ok: false` naming the holder. */
  acquireLease(storeId: string, key: string, options: LeaseOptions): Promise<LeaseResult>;
  /** Extends the holder's live lease, same token; `ok: false` once it was lost or lapsed. */
  renewLease(storeId: string, key: string, options: LeaseOptions): Promise<LeaseResult>;
  /** Frees the key if `holder` holds it; never touches another holder's lease. */
  releaseLease(storeId: string, key: string, options: ReleaseLeaseOptions): Promise<LeaseResult>;
  /**
   * Runs `fn` while holding the key: waits for it (see `waitMs`; gives up with `deadline_exceeded`),
   * renews in the background, aborts `fn`'s signal as soon as the lease is lost (reason: `unavailable`)
   * or could not be renewed before it expires (reason: `deadline_exceeded`), and releases it once `fn`
   * has settled. Resolves to `fn`'s result. Aborting `signal` aborts `fn`'s signal too; the call then
   * rejects with `cancelled` once `fn` has settled.
   */
  withLease<T>(storeId: string, key: string, options: WithLeaseOptions, fn: (signal: AbortSignal, lease: Lease) => T | PromiseLike<T>): Promise<T>;
}
