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
    // A pending update is always newer than the one sent.
    if (!isNewer(status, this.#pending.get(status.segment) ?? this.#sent.get(status.segment))) return false;
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
    const sent = this.#sent.get(status.segment);
    if (sent !== undefined && isNewer(sent, status)) return false;
    this.#sent.set(status.segment, status);
    const pending = this.#pending.get(status.segment);
    if (pending !== undefined && !isNewer(pending, status)) this.#pending.delete(status.segment);
    return true;
  }

  /** The head last sent for a segment. */
  sent(segment: string): SegmentStatus | undefined {
    return this.#sent.get(segment);
  }
}

/**
 * Whether `status` is a later head than `known`: a higher last sequence, or at the same one a
 * lifecycle change (docs/lifecycle.md): a higher first sequence, or newly closed or deleted. After
 * a tombstone, any live head is later: the segment was written again (after a hard purge, from
 * sequence 1).
 */
export function isNewer(status: SegmentStatus, known: SegmentStatus | undefined): boolean {
  if (known === undefined) return true;
  if (known.deleted === true && status.deleted !== true) return true;
  if (status.lastSequence !== known.lastSequence) return status.lastSequence > known.lastSequence;
  if (status.firstSequence !== known.firstSequence) return status.firstSequence > known.firstSequence;
  return (status.closed === true && known.closed !== true) || (status.deleted === true && known.deleted !== true);
}
