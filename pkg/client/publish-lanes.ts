import { cancelledError, type PublishRequest, type SegmentStatus, StreamsError } from "../api/internal/index.js";
import { assertTransmittable, type Connection } from "./connection.js";
import { LaneCall } from "./publish-call.js";
import { PublishLane } from "./publish-lane.js";
import { PublishRetries } from "./publish-retry.js";

/** Idle lanes (of different stores) kept open at once; the one idle longest ends when another goes idle. */
const MAX_IDLE_LANES = 8;

/** The client's publish lanes, one per store, opened by the first publish and ended when idle. */
export class PublishLanes {
  readonly #connection: Connection;
  readonly #lanes = new Map<string, PublishLane>();
  /** Lanes no call waits on, the one idle longest first. */
  readonly #idle = new Set<PublishLane>();
  /** Idempotent calls waiting to be sent again after a lane broke, per store. */
  readonly #retries: PublishRetries;

  constructor(connection: Connection) {
    this.#connection = connection;
    this.#retries = new PublishRetries(connection.retry, (storeId, calls) => this.#reroute(storeId, calls));
  }

  /** Publishes on the store's lane; `timeoutMs` (Infinity: none) bounds the wait for the answer. */
  publish(storeId: string, request: PublishRequest, signal: AbortSignal | undefined, timeoutMs: number): Promise<SegmentStatus> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    const lane = this.#lanes.get(storeId);
    const call = new LaneCall(request, signal, timeoutMs);
    try {
      if (this.#retries.waiting(storeId)) {
        this.#connection.assertOpen();
        assertTransmittable(request);
        this.#retries.join(storeId, call);
      } else if (lane?.accepting === true) {
        lane.publish(call);
      } else {
        this.#open(storeId, call);
      }
    } catch (error) {
      call.fail(error);
    }
    return call.promise;
  }

  /** A new lane for `storeId`, opened with `first`; throws if the stream cannot be opened. */
  #open(storeId: string, first: LaneCall): PublishLane {
    const opened: PublishLane = new PublishLane(this.#connection, storeId, first, {
      closing: (closed) => {
        this.#idle.delete(closed);
        if (this.#lanes.get(storeId) === closed) this.#lanes.delete(storeId);
      },
      reroute: (calls) => this.#reroute(storeId, calls),
      idle: (idle) => {
        this.#idle.add(idle);
        // Idle lanes hold streams (a connection has a limit): keep only the most recently used.
        if (this.#idle.size > MAX_IDLE_LANES) this.#idle.values().next().value?.end();
      },
      busy: (busy) => this.#idle.delete(busy),
      retry: (calls, error) => this.#retries.retry(storeId, calls, error),
    });
    this.#lanes.set(storeId, opened);
    return opened;
  }

  /** Calls not sent on a lane (taken back from an unopened one, or due for a retry): the first opens the next lane, the rest follow it. */
  #reroute(storeId: string, calls: LaneCall[]): void {
    let lane = this.#lanes.get(storeId);
    for (const call of calls) {
      try {
        if (lane?.accepting === true) lane.publish(call);
        else lane = this.#open(storeId, call);
      } catch (error) {
        call.fail(StreamsError.from(error, "unavailable"));
      }
    }
  }

  /**
   * Fails the calls waiting to be retried at once (with what calls in flight get when the client
   * closes) and stops their timers; ends idle lanes and waits for the server to end them, so closing
   * the client does not cut them.
   */
  async close(): Promise<void> {
    this.#retries.close(() => new StreamsError("unavailable", "client is closed"));
    await Promise.all([...this.#lanes.values()].map((lane) => lane.closeIfIdle()));
  }
}
