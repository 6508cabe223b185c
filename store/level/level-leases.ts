import { Packr } from "msgpackr";
import { type LeaseResult, StreamsError } from "../../pkg/api/index.js";
import { type LeaseDecision, type LeasePage, type LeaseState, liveLease } from "../leases.js";
import type { LeaseInfo } from "../types.js";
import type { LevelDb } from "./group-commit.js";
import { leaseKey, leasesAfter, parseLeaseKey } from "./keys.js";

/** Lease records fetched per native call while listing. */
const LIST_STEP = 256;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: "number" });

/**
 * Lease states of one level store, in its database beside the streams, so holders and token counters
 * survive restarts. Operations on one key run one after another (read, decide, synced write); a
 * database serves one process, so this queue makes each operation atomic.
 */
export class LevelLeases {
  readonly #db: LevelDb;
  /** Settles when the last queued operation of a key has; absent when the key has none queued. */
  readonly #tails = new Map<string, Promise<void>>();

  constructor(db: LevelDb) {
    this.#db = db;
  }

  update(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    const operation = (this.#tails.get(key) ?? Promise.resolve()).then(() => this.#apply(key, decide));
    const tail = operation.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return operation;
  }

  /**
   * Live leases after `page.after`, in key order (one range scan over the lease keys; released and
   * expired keys, which keep their token counters, are skipped).
   */
  async list(page: LeasePage): Promise<LeaseInfo[]> {
    const now = Date.now();
    const live: LeaseInfo[] = [];
    try {
      const iterator = this.#db.iterator(leasesAfter(page.after));
      try {
        for (let chunk = await iterator.nextv(LIST_STEP); chunk.length > 0; chunk = await iterator.nextv(LIST_STEP)) {
          for (const [key, value] of chunk) {
            const lease = liveLease(parseLeaseKey(key), decodeLease(value), now);
            if (lease !== undefined && live.push(lease) >= page.limit) return live;
          }
        }
      } finally {
        await iterator.close();
      }
    } catch (error) {
      throw new StreamsError("unavailable", `leases: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return live;
  }

  /** Resolves once every queued operation has settled (the store accepts no new ones while closing). */
  async drain(): Promise<void> {
    await Promise.all(this.#tails.values());
  }

  async #apply(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    const stored = leaseKey(key);
    try {
      const value = await this.#db.get(stored);
      const { result, next } = decide(value === undefined ? undefined : decodeLease(value), Date.now());
      if (next !== undefined) await this.#db.put(stored, encodeLease(next), { sync: true });
      return result;
    } catch (error) {
      throw new StreamsError("unavailable", `lease ${key}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}

function encodeLease(state: LeaseState): Buffer {
  return packr.pack([state.holder, state.expiresAt, state.token]);
}

function decodeLease(value: Buffer): LeaseState {
  const [holder, expiresAt, token] = packr.unpack(value) as [string, number, number];
  return { holder, expiresAt, token };
}
