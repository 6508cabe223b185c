import { MessageTypes, type Response, type SegmentStatus, StreamsError } from "../../api/internal/index.js";
import type { Bus } from "../../../bus/types.js";
import type { Store } from "../../../store/types.js";
import type { Logger } from "../../api/logger.js";
import type { LiveRefreshes } from "./live-refreshes.js";
import { decodeSegmentNotification, segmentRoute } from "./notifications.js";
import { SubscriptionHeads } from "./subscriptions-heads.js";

/** The segment pattern of a subscription to every segment of a space. */
export const ALL_SEGMENTS = "*";
export const MIN_HEARTBEAT_SECONDS = 1;
export const MAX_HEARTBEAT_SECONDS = 300;

/** 0 or absent: no heartbeats (undefined); otherwise the interval clamped to 1–300 s, in ms. */
export function heartbeatIntervalMs(seconds: number | undefined): number | undefined {
  if (seconds === undefined || seconds === 0) return undefined;
  return Math.min(MAX_HEARTBEAT_SECONDS, Math.max(MIN_HEARTBEAT_SECONDS, seconds)) * 1000;
}

export interface StatusSubscriptionOptions {
  storeId: string;
  space: string;
  /** A segment name or `*`. */
  segment: string;
  /** Undefined: no heartbeats. */
  heartbeatMs: number | undefined;
  store: Pick<Store, "segmentStatus" | "segmentStatuses">;
  bus: Bus;
  /** Announcements of commits another instance's bus could not notify. */
  refreshes: LiveRefreshes;
  /** Sends one message; resolves when the transport has room for more. */
  send(message: Response): Promise<void>;
  /** Aborting ends the subscription with the signal's reason. */
  signal: AbortSignal;
  logger: Logger;
}

const zeroStatus = (space: string, segment: string): SegmentStatus => ({
  space,
  segment,
  firstSequence: 0,
  firstTimestamp: 0,
  lastSequence: 0,
  lastTimestamp: 0,
});

/** The fields of a status, whatever else a notification carried; lifecycle flags only when set. */
const headOf = (status: SegmentStatus): SegmentStatus => {
  const head: SegmentStatus = {
    space: status.space,
    segment: status.segment,
    firstSequence: status.firstSequence,
    firstTimestamp: status.firstTimestamp,
    lastSequence: status.lastSequence,
    lastTimestamp: status.lastTimestamp,
  };
  if (status.closed === true) head.closed = true;
  if (status.deleted === true) head.deleted = true;
  return head;
};

/**
 * One `subscribe_to_segment_status` stream: subscribes to the space's notifications first, then sends
 * a snapshot of the matching segments, `caught_up`, and from then on live updates (coalesced, never
 * going back) and heartbeats. One loop does all the sending, so sends wait for flow control while
 * notifications only update what is pending. A bus reconnect asks for a fresh snapshot.
 */
export class StatusSubscription {
  readonly #options: StatusSubscriptionOptions;
  readonly #heads = new SubscriptionHeads();
  #snapshotWanted = true;
  #caughtUpSent = false;
  #heartbeatDue = false;
  #stopped: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  constructor(options: StatusSubscriptionOptions) {
    this.#options = options;
  }

  /** Ends the subscription: normally when `error` is undefined, else `run` rejects with it. Idempotent. */
  stop(error?: unknown): void {
    this.#stopped ??= { error };
    this.#notify();
  }

  /** Sends a fresh snapshot of every matching segment before any further update. */
  refresh(): void {
    this.#snapshotWanted = true;
    this.#notify();
  }

  /** Runs until stopped or the signal aborts; releases the bus subscription and timers in any case. */
  async run(): Promise<void> {
    const { bus, storeId, space, signal, heartbeatMs, logger } = this.#options;
    if (signal.aborted) throw signal.reason;
    let unsubscribe: () => Promise<void>;
    try {
      unsubscribe = await bus.subscribe(segmentRoute(storeId, space), (bytes) => this.#onNotification(bytes));
    } catch (error) {
      throw new StreamsError("unavailable", "cannot subscribe to segment notifications", { cause: error });
    }
    const onAbort = () => this.stop(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    const removeReconnectListener = bus.onReconnect(() => this.refresh());
    const removeRefreshListener = this.#options.refreshes.listen(storeId, space, () => this.refresh());
    const heartbeat = heartbeatMs === undefined ? undefined : setInterval(() => this.#heartbeatTick(), heartbeatMs);
    try {
      await this.#sendUntilStopped();
    } finally {
      clearInterval(heartbeat);
      removeReconnectListener();
      removeRefreshListener();
      signal.removeEventListener("abort", onAbort);
      await unsubscribe().catch((error: unknown) => logger.warn({ err: error, storeId, space }, "bus unsubscribe failed"));
    }
  }

  async #sendUntilStopped(): Promise<void> {
    for (;;) {
      if (this.#stopped !== undefined) {
        if (this.#stopped.error !== undefined) throw this.#stopped.error;
        return;
      }
      if (this.#snapshotWanted) {
        this.#snapshotWanted = false;
        await this.#sendSnapshot();
        continue;
      }
      const update = this.#heads.take();
      if (update !== undefined) {
        await this.#sendStatus(update);
        continue;
      }
      if (this.#heartbeatDue) {
        this.#heartbeatDue = false;
        await this.#sendStatus({ ...this.#heartbeatHead(), heartbeat: true });
        continue;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async #sendSnapshot(): Promise<void> {
    for (const status of await this.#readSnapshot()) {
      if (this.#stopped !== undefined) return;
      if (this.#heads.admitSnapshot(status)) await this.#sendStatus(status);
    }
    if (!this.#caughtUpSent) {
      this.#caughtUpSent = true;
      await this.#options.send({ $type: MessageTypes.caughtUp });
    }
  }

  async #readSnapshot(): Promise<SegmentStatus[]> {
    const { store, space, segment } = this.#options;
    if (segment === ALL_SEGMENTS) return (await store.segmentStatuses(space)).map(headOf);
    const status = await store.segmentStatus(space, segment);
    return [status === undefined ? zeroStatus(space, segment) : headOf(status)];
  }

  /** A space subscription's heartbeat names `*` with zeros; a segment's carries the head last sent. */
  #heartbeatHead(): SegmentStatus {
    const { space, segment } = this.#options;
    if (segment === ALL_SEGMENTS) return zeroStatus(space, ALL_SEGMENTS);
    return this.#heads.sent(segment) ?? zeroStatus(space, segment);
  }

  #sendStatus(status: SegmentStatus): Promise<void> {
    return this.#options.send({ $type: MessageTypes.segmentStatus, ...status });
  }

  #onNotification(bytes: Uint8Array): void {
    const status = decodeSegmentNotification(bytes)?.status;
    const { space, segment } = this.#options;
    if (status === undefined || status.space !== space) return;
    if (segment !== ALL_SEGMENTS && status.segment !== segment) return;
    if (this.#heads.offer(headOf(status))) this.#notify();
  }

  #heartbeatTick(): void {
    this.#heartbeatDue = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
