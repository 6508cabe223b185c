import {
  cancelledError,
  type ClientStream,
  decodeAny,
  encodeMessage,
  MAX_PUBLISH_BATCH,
  type Message,
  MessageTypes,
  type PublishItem,
  type PublishRequest,
  type Response,
  type SegmentStatus,
  StreamsError,
} from "../api/internal/index.js";
import { retryDelay } from "../api/internal/index.js";
import { startTimer } from "../api/internal/timer.js";
import { callFailure } from "./abort.js";
import { onAbort } from "./abort-listeners.js";
import { assertTransmittable, type Connection } from "./connection.js";

/**
 * How long a lane left without calls stays open: a caller that publishes one at a time (await each,
 * do some work, publish again) keeps using one stream instead of opening one per publish. The timer
 * does not keep a Node process alive, and closing the client ends idle lanes at once.
 */
const LANE_IDLE_MS = 1_000;

/**
 * Largest publish_batch (its encoded size, bounded from above): a publish that would take a batch
 * past it starts the next one, and a larger publish goes alone. Small enough for any sensible frame
 * limit (the server's default is 8 MiB), large enough to carry hundreds of small publishes.
 */
const MAX_BATCH_BYTES = 64 * 1024;
/** A publish_batch's own bytes: its type, the `publishes` key and the array header. */
const BATCH_OVERHEAD_BYTES = 64;

/** Idle lanes (of different stores) kept open at once; the one idle longest ends when another goes idle. */
const MAX_IDLE_LANES = 8;

/** An upper bound of a publish's encoded size in a batch (UTF-8 takes at most 3 bytes per UTF-16 unit). */
function encodedSizeBound({ space, segment, payload, metadata, producer }: PublishRequest): number {
  let bytes = 48 + 3 * (space.length + segment.length) + payload.byteLength;
  if (producer !== undefined) bytes += 64 + 3 * producer.id.length;
  if (metadata !== undefined) for (const [key, value] of Object.entries(metadata)) bytes += 10 + 3 * (key.length + value.length);
  return bytes;
}

/** What a lane tells the lanes of its client. */
interface LaneOwner {
  /** The lane takes no more publishes. */
  closing(lane: PublishLane): void;
  /** No call waits on the lane. */
  idle(lane: PublishLane): void;
  /** A call waits on the lane again. */
  busy(lane: PublishLane): void;
  /** Idempotent publishes the broken lane left unanswered, in the order sent: to be sent again. */
  retry(calls: LaneCall[], error: StreamsError): void;
}

/** One publish waiting for its answer. Settles once; an abort settles it early (its answer is then dropped). */
class LaneCall {
  readonly promise: Promise<SegmentStatus>;
  #resolve!: (status: SegmentStatus) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #release: () => void = () => undefined;
  /** Times the call was sent again after its lane broke. */
  retries = 0;

  constructor(
    readonly request: PublishRequest,
    readonly signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise<SegmentStatus>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal !== undefined) {
      this.#release = onAbort(signal, () => this.fail(cancelledError(signal)));
    }
  }

  get settled(): boolean {
    return this.#settled;
  }

  answer(status: SegmentStatus): void {
    if (this.#settle()) this.#resolve(status);
  }

  fail(error: unknown): void {
    if (this.#settle()) this.#reject(error);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#release();
    return true;
  }
}

/** A publish as an item of a publish_batch. */
function batchItem({ space, segment, payload, metadata, producer }: PublishRequest): PublishItem {
  const item: PublishItem = { space, segment, payload };
  if (metadata !== undefined) item.metadata = metadata;
  if (producer !== undefined) item.producer = producer;
  return item;
}

/**
 * One long-lived stream of a store's publishes (`publish` with `lane`, docs/protocol.md): the publishes made
 * together (in one microtask checkpoint: a loop, a Promise.all) go in one publish_batch, and are
 * answered in order.
 * An error answer fails its call alone; a broken stream fails every call waiting on it (`unavailable`
 * after a dropped connection: a publish is never retried). It half-closes once no call has waited for
 * LANE_IDLE_MS.
 */
class PublishLane {
  readonly #connection: Connection;
  readonly #stream: ClientStream;
  /** The unanswered calls of each message sent, in order: one for a publish, several for a batch. */
  readonly #sent: LaneCall[][] = [];
  /** Calls made together, sent in one message once the current microtasks have run. */
  #outbox: LaneCall[] = [];
  #outboxBytes = 0;
  readonly #maxBatchBytes: number;
  readonly #owner: LaneOwner;
  #accepting = true;
  /** Cancels the timer that ends the lane once it has been idle LANE_IDLE_MS. */
  #idleTimer: (() => void) | undefined;
  /** Settles once the server has ended the stream (or it broke). */
  readonly finished: Promise<void>;

  /** Opens the lane with its first publish; throws if the stream cannot be opened. */
  constructor(connection: Connection, storeId: string, first: PublishRequest, owner: LaneOwner) {
    this.#connection = connection;
    this.#owner = owner;
    this.#maxBatchBytes = Math.min(MAX_BATCH_BYTES, connection.maxMessageBytes ?? MAX_BATCH_BYTES);
    this.#stream = connection.open(storeId, { ...first, lane: true });
    this.finished = this.#read();
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Waits for the first publish's answer (sent with the stream's open). */
  first(call: LaneCall): void {
    this.#busy();
    this.#sent.push([call]);
  }

  /** Sends the call with those made together with it. */
  publish(call: LaneCall): void {
    this.#connection.assertOpen();
    const { request } = call;
    assertTransmittable(request);
    this.#busy();
    const bytes = encodedSizeBound(request);
    if (this.#outbox.length >= MAX_PUBLISH_BATCH || BATCH_OVERHEAD_BYTES + this.#outboxBytes + bytes > this.#maxBatchBytes) this.#flush();
    this.#outbox.push(call);
    this.#outboxBytes += bytes;
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
  }

  /** Half-closes the lane if no call waits; resolves once the server has ended it. */
  async closeIfIdle(): Promise<void> {
    if (!this.#idle) return;
    this.end();
    await this.finished;
  }

  get #idle(): boolean {
    return this.#sent.length === 0 && this.#outbox.length === 0;
  }

  #busy(): void {
    if (this.#idleTimer !== undefined) {
      this.#stopIdleTimer();
      this.#owner.busy(this);
    }
  }

  /** Sends the calls made together: one publish alone, several as a publish_batch. */
  #flush(): void {
    const calls = this.#outbox;
    if (calls.length === 0) return;
    this.#outbox = [];
    this.#outboxBytes = 0;
    const message: Message =
      calls.length === 1
        ? (calls[0] as LaneCall).request
        : { $type: MessageTypes.publishBatch, publishes: calls.map((call) => batchItem(call.request)) };
    const bytes = encodeMessage(message);
    const limit = this.#connection.maxMessageBytes;
    if (limit !== undefined && bytes.byteLength > limit) {
      // Only a lone publish can be this large (batches stay under the limit): it fails alone, unsent.
      const error = new StreamsError("resource_exhausted", `publish of ${bytes.byteLength} bytes exceeds the transport's message limit of ${limit}`, { code: "permanent" });
      for (const call of calls) call.fail(error);
      this.#whenIdle();
      return;
    }
    this.#sent.push(calls);
    this.#stream.send(bytes).catch((error: unknown) => this.#break(error));
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const bytes = await this.#stream.receive();
        if (bytes === undefined) break;
        this.#settle(decodeAny(bytes) as Response);
        this.#whenIdle();
      }
      this.#break(new StreamsError("internal", "publish lane ended with publishes unanswered"));
    } catch (error) {
      this.#break(error);
    }
  }

  /** Once no call waits, the lane ends unless another call comes within LANE_IDLE_MS. */
  #whenIdle(): void {
    if (!this.#idle || this.#idleTimer !== undefined || !this.#accepting) return;
    this.#idleTimer = startTimer(() => this.end(), LANE_IDLE_MS, { unref: true });
    this.#owner.idle(this);
  }

  /**
   * Settles calls with an answer: publish_results for the next publishes in the order sent, across
   * messages; publish_error for every publish of the next message (the lane could not take it).
   */
  #settle(answer: Response): void {
    if (answer.$type === MessageTypes.publishResults) {
      for (const result of answer.results) {
        const call = this.#sent[0]?.shift();
        if (call === undefined) throw new StreamsError("internal", "publish lane answered more publishes than were sent");
        if (this.#sent[0]?.length === 0) this.#sent.shift();
        if ("error" in result) call.fail(StreamsError.fromInfo(result.error));
        else call.answer({ space: call.request.space, segment: call.request.segment, ...result });
      }
    } else if (answer.$type === MessageTypes.publishError) {
      const calls = this.#sent.shift();
      if (calls === undefined) throw new StreamsError("internal", "publish lane refused a message that was not sent");
      const error = StreamsError.fromInfo(answer.error);
      for (const call of calls) call.fail(error);
    } else {
      throw new StreamsError("internal", `unexpected reply on a publish lane: ${String((answer as { $type?: unknown }).$type)}`);
    }
  }

  /** Half-closes the lane: it takes no more publishes. */
  end(): void {
    if (!this.#accepting) return;
    this.#stopAccepting();
    this.#stream.end();
  }

  /** The stream broke: every waiting call fails, and later publishes go to a new lane. */
  #break(error: unknown): void {
    this.#stopAccepting();
    const calls = [...this.#sent.splice(0).flat(), ...this.#outbox.splice(0)];
    this.#outboxBytes = 0;
    if (calls.length === 0) return;
    this.#stream.cancel();
    // An idempotent publish is sent again after a dropped connection: the server stores it once
    // and answers a repeat with the first acknowledgement (docs/protocol.md, Idempotent publish).
    const retried: LaneCall[] = [];
    let retryError: StreamsError | undefined;
    for (const call of calls) {
      const failure = callFailure(error, call.signal, this.#connection.closed);
      if (call.request.producer !== undefined && failure.kind === "unavailable" && !this.#connection.closed && !call.settled) {
        retried.push(call);
        retryError = failure;
      } else {
        call.fail(failure);
      }
    }
    if (retryError !== undefined) this.#owner.retry(retried, retryError);
  }

  #stopIdleTimer(): void {
    this.#idleTimer?.();
    this.#idleTimer = undefined;
  }

  #stopAccepting(): void {
    this.#stopIdleTimer();
    if (!this.#accepting) return;
    this.#accepting = false;
    this.#owner.closing(this);
  }
}

/** The client's publish lanes, one per store, opened by the first publish and ended when idle. */
export class PublishLanes {
  readonly #connection: Connection;
  readonly #lanes = new Map<string, PublishLane>();
  /** Lanes no call waits on, the one idle longest first. */
  readonly #idle = new Set<PublishLane>();
  /**
   * Per store, calls waiting to be sent again after a lane broke, and the publishes made since:
   * they go out together, in order, so a producer's publishes to a segment keep their order.
   */
  readonly #retrying = new Map<string, LaneCall[]>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  publish(storeId: string, request: PublishRequest, signal: AbortSignal | undefined): Promise<SegmentStatus> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    const waiting = this.#retrying.get(storeId);
    if (waiting !== undefined) {
      this.#connection.assertOpen();
      assertTransmittable(request);
      const call = new LaneCall(request, signal);
      waiting.push(call);
      return call.promise;
    }
    const call = new LaneCall(request, signal);
    this.#send(storeId, call);
    return call.promise;
  }

  /** Sends a call on the store's lane, opening one if needed; a call that cannot be sent fails. */
  #send(storeId: string, call: LaneCall): void {
    try {
      this.#route(storeId, call);
    } catch (error) {
      call.fail(callFailure(error, call.signal, this.#connection.closed));
    }
  }

  #route(storeId: string, call: LaneCall): void {
    const lane = this.#lanes.get(storeId);
    if (lane?.accepting === true) {
      lane.publish(call);
      return;
    }
    const opened: PublishLane = new PublishLane(this.#connection, storeId, call.request, {
      closing: (closed) => {
        this.#idle.delete(closed);
        if (this.#lanes.get(storeId) === closed) this.#lanes.delete(storeId);
      },
      idle: (idle) => {
        this.#idle.add(idle);
        // Idle lanes hold streams (a connection has a limit): keep only the most recently used.
        if (this.#idle.size > MAX_IDLE_LANES) this.#idle.values().next().value?.end();
      },
      busy: (busy) => this.#idle.delete(busy),
      retry: (calls, error) => this.#retry(storeId, calls, error),
    });
    this.#lanes.set(storeId, opened);
    opened.first(call);
  }

  /** Sends the calls again after the retry policy's delay (none the first time), with what was published meanwhile. */
  #retry(storeId: string, calls: LaneCall[], error: StreamsError): void {
    const policy = this.#connection.retry;
    const retries = Math.max(...calls.map((call) => ++call.retries));
    if (retries > policy.maxAttempts) {
      for (const call of calls) call.fail(error);
      return;
    }
    const waiting = this.#retrying.get(storeId);
    if (waiting !== undefined) {
      waiting.unshift(...calls);
      return;
    }
    this.#retrying.set(storeId, calls);
    startTimer(() => {
      const due = this.#retrying.get(storeId) ?? [];
      this.#retrying.delete(storeId);
      for (const call of due) if (!call.settled) this.#send(storeId, call);
    }, retryDelay(policy, retries - 1), { unref: false });
  }

  /** Ends idle lanes and waits for the server to end them, so closing the client does not cut them. */
  async close(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((lane) => lane.closeIfIdle()));
  }
}
