import type { SegmentStatus } from "../../pkg/client/index.js";
import { Conditions } from "../support/waits.js";

const DEFAULT_WAIT_MS = 15_000;

/** Records what a status subscription delivers and lets a test wait, bounded, until it has seen something. */
export class StatusRecorder {
  readonly statuses: SegmentStatus[] = [];
  readonly #conditions = new Conditions();

  /** Pass as `onStatus`. */
  readonly listener = (status: SegmentStatus): void => {
    this.statuses.push(status);
    this.#conditions.check();
  };

  get updates(): SegmentStatus[] {
    return this.statuses.filter((status) => status.heartbeat !== true);
  }

  get heartbeats(): SegmentStatus[] {
    return this.statuses.filter((status) => status.heartbeat === true);
  }

  /** Last sequences of `segment`'s non-heartbeat statuses, in delivery order. */
  sequencesOf(segment: string): number[] {
    return this.updates.filter((status) => status.segment === segment).map((status) => status.lastSequence);
  }

  /** Resolves once `ready()` holds; rejects naming `what` and what was received after `timeoutMs`. */
  until(ready: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.#conditions.until(ready, () => `${what}; received ${JSON.stringify(this.statuses)}`, timeoutMs);
  }

  /** Waits for a non-heartbeat status of `segment` at `lastSequence` or later. */
  untilSequence(segment: string, lastSequence: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.sequencesOf(segment).some((sequence) => sequence >= lastSequence), `${segment} at ${lastSequence}`, timeoutMs);
  }

  /** Waits for `count` heartbeats in all. */
  untilHeartbeats(count: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.heartbeats.length >= count, `${count} heartbeat(s)`, timeoutMs);
  }
}
