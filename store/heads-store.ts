import type { SegmentStatus, StoreStatus } from "../pkg/api/index.js";
import { AbstractStore } from "./abstract-store.js";
import type { Heads } from "./heads.js";
import type { StoreFeatures, StoreOptions } from "./types.js";

/**
 * Base of a backend that keeps its committed heads in memory (Heads): the status and listing
 * queries are answered from them, with no read of the stored entries.
 */
export abstract class HeadsStore extends AbstractStore {
  readonly #committed: Heads;

  /** `committed`: the heads as of the last commit, advanced by the backend as it commits. */
  protected constructor(storeId: string, features: StoreFeatures, committed: Heads, options: StoreOptions = {}) {
    super(storeId, features, options);
    this.#committed = committed;
  }

  protected async _segmentStatus(space: string, segment: string): Promise<SegmentStatus | undefined> {
    return this.#committed.segmentStatus(space, segment);
  }

  /** The head and incarnation in one synchronous read of the committed heads. */
  protected override async _segmentHead(space: string, segment: string): Promise<{ status: SegmentStatus | undefined; incarnation: number }> {
    return { status: this.#committed.segmentStatus(space, segment), incarnation: this.#committed.incarnation(space, segment) };
  }

  protected async _segmentStatuses(space: string): Promise<SegmentStatus[]> {
    return this.#committed.segmentStatuses(space);
  }

  protected async _listSpaces(): Promise<string[]> {
    return this.#committed.listSpaces();
  }

  protected async _listSegments(space: string): Promise<string[]> {
    return this.#committed.listSegments(space);
  }

  protected async _status(): Promise<StoreStatus> {
    return this.#committed.status(this.storeId);
  }

  protected override _firstSequence(space: string, segment: string): number {
    return this.#committed.segmentHead(space, segment)?.firstSequence ?? 1;
  }

  protected override _firstPosition(space: string): number {
    return this.#committed.firstPosition(space);
  }
}
