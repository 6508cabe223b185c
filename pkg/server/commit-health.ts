import { StreamsError } from "../api/internal/index.js";
import type { Store } from "../../store/types.js";

/** How a store whose commits fail is reopened: after the first failure, then with doubling waits. */
export interface CommitRecoveryOptions {
  /** Wait before reopening again after a reopen that did not help. Default 1 s. */
  initialBackoffMs: number;
  /** Longest wait between reopens. Default 30 s. */
  maxBackoffMs: number;
}

export const DEFAULT_COMMIT_RECOVERY: CommitRecoveryOptions = { initialBackoffMs: 1_000, maxBackoffMs: 30_000 };

/** A store whose last commit failed, as readiness and status report it. */
export interface FailingCommits {
  storeId: string;
  /** Consecutive failed commits. */
  failures: number;
  /** Milliseconds since epoch of the first of them. */
  since: number;
  /** Times the store was reopened since. */
  reopens: number;
}

interface Failing extends FailingCommits {
  nextReopenAt: number;
  backoffMs: number;
}

/**
 * Watches every store's commits (docs/limits.md). A commit failing with `unavailable` (a full disk,
 * a lost database) marks the store failing and has it reopened — LevelDB keeps failing every write
 * after one I/O error until its database is opened again — first at once, then with doubling waits
 * while commits keep failing. The first commit that succeeds marks it healthy again and resets the waits.
 */
export class CommitHealth {
  readonly #options: CommitRecoveryOptions;
  readonly #reopen: (storeId: string) => void;
  readonly #failing = new Map<string, Failing>();

  constructor(options: CommitRecoveryOptions, reopen: (storeId: string) => void) {
    this.#options = options;
    this.#reopen = reopen;
  }

  /** `store` with its produce and publish watched; everything else passes through. */
  watch(storeId: string, store: Store): Store {
    const watchCommit = <T>(commit: Promise<T>): Promise<T> =>
      commit.then(
        (result) => {
          this.#failing.delete(storeId);
          return result;
        },
        (error: unknown) => {
          if (error instanceof StreamsError && error.kind === "unavailable") this.#failed(storeId);
          throw error;
        },
      );
    return new Proxy(store, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        const method = value as (...args: unknown[]) => unknown;
        if (property === "produce" || property === "publish") {
          return (...args: unknown[]) => watchCommit(method.apply(target, args) as Promise<unknown>);
        }
        return method.bind(target);
      },
    });
  }

  /**
   * Stores whose last commit failed, until the next reopen is due: then the store is given traffic
   * again (readiness turns ready) and its next failure counts against a doubled wait.
   */
  failing(): FailingCommits[] {
    const now = Date.now();
    return [...this.#failing.values()]
      .filter((failing) => now < failing.nextReopenAt)
      .map(({ storeId, failures, since, reopens }) => ({ storeId, failures, since, reopens }))
      .sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0));
  }

  #failed(storeId: string): void {
    const now = Date.now();
    let failing = this.#failing.get(storeId);
    if (failing === undefined) {
      failing = { storeId, failures: 0, since: now, reopens: 0, nextReopenAt: now, backoffMs: this.#options.initialBackoffMs };
      this.#failing.set(storeId, failing);
    }
    failing.failures++;
    if (now < failing.nextReopenAt) return;
    failing.reopens++;
    failing.nextReopenAt = now + failing.backoffMs;
    failing.backoffMs = Math.min(failing.backoffMs * 2, this.#options.maxBackoffMs);
    // After this turn: the failed commit's own answer reaches its client before the node closes.
    setImmediate(() => this.#reopen(storeId));
  }
}
