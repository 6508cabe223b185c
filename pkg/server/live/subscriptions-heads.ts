import type { SegmentStatus } from "../../api/index.js";

/**
 * What one status subscription has sent and still owes, per segment. Live updates are coalesced
 * (the latest pending status of a segment wins) and a head never goes back: a status at or below the
 * one already sent or pending is dropped, since notifications from several instances, and those
 * racing a snapshot read, arrive in any order. Memory is one pending and one sent status per segment.
 */
export class SubscriptionHeads {
  readonly #sent = new Map<string, SegmentStatus>();
  readonly #pending = new Map<string, SegmentStatus>();

  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  /** Queues a live update; false when it is not newer than what was sent or is already pending. */
  offer(status: SegmentStatus): boolean {
    const known = Math.max(this.#sent.get(status.segment)?.lastSequence ?? -1, this.#pending.get(status.segment)?.lastSequence ?? -1);
    if (status.lastSequence <= known) return false;
    this.#pending.set(status.segment, status);
    return true;
  }

  /** The oldest pending update, recorded as sent (so an equal notification arriving meanwhile is dropped). */
  take(): SegmentStatus | undefined {
    for (const [segment, status] of this.#pending) {
      this.#pending.delete(segment);
      this.#sent.set(segment, status);
      return status;
    }
    return undefined;
  }

  /**
   * Whether a snapshot status goes out: a snapshot may repeat the head already sent but never go
   * below it. When it does go out it is recorded as sent and supersedes a pending update it covers.
   */
  admitSnapshot(status: SegmentStatus): boolean {
    if (status.lastSequence < (this.#sent.get(status.segment)?.lastSequence ?? -1)) return false;
    this.#sent.set(status.segment, status);
    const pending = this.#pending.get(status.segment);
    if (pending !== undefined && pending.lastSequence <= status.lastSequence) this.#pending.delete(status.segment);
    return true;
  }

  /** The head last sent for a segment. */
  sent(segment: string): SegmentStatus | undefined {
    return this.#sent.get(segment);
  }
}
