import type { SegmentStatus } from "../../api/index.js";

/**
 * The commits of one produce stream in batch order: up to `depth` in flight at once (with a store
 * that pipelines, they share its group commits), each acknowledged in order as soon as it is durable
 * and the ones before it are acknowledged. Not held back until `depth` are in flight: a client whose
 * record source pauses still gets the status of every batch it sent (its per-batch deadline counts
 * from the batch's sending, and an abort then knows the batch stored: docs/design.md, "Deadlines").
 */
export class CommitQueue {
  /**
   * Per commit not yet waited on, oldest first: settles once it is acknowledged, or rejects with the
   * first failure, but never before its own commit settles (so `settle` outlasts every commit).
   */
  readonly #acknowledged: Promise<void>[] = [];
  #last: Promise<void> = Promise.resolve();

  constructor(
    private readonly depth: number,
    private readonly acknowledge: (status: SegmentStatus) => Promise<void>,
  ) {}

  /** Adds a commit, then waits while `depth` are unacknowledged. Rejects with the first failed commit. */
  async add(commit: Promise<SegmentStatus>): Promise<void> {
    commit.catch(() => undefined); // observed in order below
    // After a failure every later commit rejects with it, unacknowledged, once it has settled: a
    // failed send does not stop the store's ProduceChain, so a later commit may still be running.
    const acknowledged = this.#last
      .then(async () => this.acknowledge(await commit))
      .catch(async (error: unknown) => {
        await commit.catch(() => undefined);
        throw error;
      });
    acknowledged.catch(() => undefined); // observed by add, drain or settle
    this.#last = acknowledged;
    this.#acknowledged.push(acknowledged);
    while (this.#acknowledged.length >= this.depth) await this.#acknowledged.shift();
  }

  /** Acknowledges every commit in order; rejects with the first that failed. */
  async drain(): Promise<void> {
    while (this.#acknowledged.length > 0) await this.#acknowledged.shift();
  }

  /**
   * After a failure: acknowledges the commits that succeed up to the first that does not, and waits
   * for every commit to settle, so none lands after the handler returns. Never rejects.
   */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#acknowledged.splice(0));
  }
}
