import type { SegmentStatus } from "../../api/index.js";

/**
 * The commits of one produce stream in batch order: up to `depth` in flight at once (with a store
 * that pipelines, they share its group commits), each acknowledged in order once it is durable.
 */
export class CommitQueue {
  readonly #commits: Promise<SegmentStatus>[] = [];

  constructor(
    private readonly depth: number,
    private readonly acknowledge: (status: SegmentStatus) => Promise<void>,
  ) {}

  /** Adds a commit, then acknowledges the oldest while `depth` are in flight. Rejects with the first failed commit. */
  async add(commit: Promise<SegmentStatus>): Promise<void> {
    commit.catch(() => undefined); // observed in order by #acknowledgeOldest
    this.#commits.push(commit);
    while (this.#commits.length >= this.depth) await this.#acknowledgeOldest();
  }

  /** Acknowledges every commit in order; rejects with the first that failed. */
  async drain(): Promise<void> {
    while (this.#commits.length > 0) await this.#acknowledgeOldest();
  }

  /** After a failure: acknowledges the commits that succeed up to the first that does not. Never rejects. */
  async settle(): Promise<void> {
    try {
      await this.drain();
    } catch {
      await Promise.allSettled(this.#commits.splice(0));
    }
  }

  async #acknowledgeOldest(): Promise<void> {
    const status = await (this.#commits.shift() as Promise<SegmentStatus>);
    await this.acknowledge(status);
  }
}
