import type { StreamOrigin } from "../../api/index.js";

/** Where an open follow stands in one space, or in one segment (docs/operator.md, "One store"). */
export interface FollowTarget {
  space: string;
  /** The followed segment (`consume_segment`); null for a space follow. */
  segment: string | null;
  /**
   * What it has taken: the commit position of its last entry in the space (a space follow), or the
   * sequence of its last entry in the segment; 0 when none yet.
   */
  position: number;
}

/**
 * One open follow read on this node, as it keeps itself: registered when it starts following and
 * removed when it ends. Its targets and timestamp are read from the state the read keeps anyway
 * (positions per space or segment, the newest timestamp taken), only when an operator asks.
 */
export interface FollowView {
  readonly op: "consume_space" | "consume" | "consume_segment";
  readonly origin: StreamOrigin | undefined;
  /** Ms since epoch the follow started. */
  readonly since: number;
  targets(): FollowTarget[];
  /** Timestamp of the newest entry it took; 0 when none yet. */
  lastTimestamp(): number;
}

/** The open follows of one store on this node, in the order they started. */
export class Follows {
  readonly #open = new Set<FollowView>();

  /** Registers `view`; returns its removal. */
  add(view: FollowView): () => void {
    this.#open.add(view);
    return () => void this.#open.delete(view);
  }

  get size(): number {
    return this.#open.size;
  }

  /** The first `limit` follows, oldest first. */
  first(limit: number): FollowView[] {
    const views: FollowView[] = [];
    for (const view of this.#open) {
      if (views.length >= limit) break;
      views.push(view);
    }
    return views;
  }
}
