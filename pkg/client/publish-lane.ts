import {
  cancelledError,
  outcomeUnknown,
  type ClientStream,
  decodeAny,
  encodeMessage,
  MAX_PUBLISH_BATCH,
  type Message,
  MessageTypes,
  type PublishItem,
  type PublishRequest,
  type Response,
  retryDelay,
  type SegmentStatus,
  StreamsError,
} from "../api/internal/index.js";
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
  /** The lane was taken back before it opened: these calls, never sent, go to another lane. */
  reroute(calls: LaneCall[]): void;
  /** No call waits on the lane. */
  idle(lane: PublishLane): void;
  /** A call waits on the lane again. */
  busy(lane: PublishLane): void;
  /** Idempotent publishes the broken lane left unanswered, in the order sent: to be sent again. */
  retry(calls: LaneCall[], error: StreamsError): void;
}

/** Where an aborted call goes: the lane that holds it decides whether it can still be taken back. */
interface CallHolder {
  abort(call: LaneCall, signal: AbortSignal): void;
}

/**
 * One publish waiting for its answer. Settles once; an abort settles it early (its answer is then
 * dropped): `cancelled` if the lane could take it back unsent, outcome unknown otherwise.
 */
class LaneCall {
  readonly promise: Promise<SegmentStatus>;
  #resolve!: (status: SegmentStatus) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #release: () => void = () => undefined;
  /** The lane holding the call now (a call taken back from an unopened lane moves to the next). */
  holder: CallHolder | undefined;
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
      this.#release = onAbort(signal, () => {
        if (this.holder === undefined) this.fail(cancelledError(signal));
        else this.holder.abort(this, signal);
      });
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

/** A message given to the stream: the open (`bytes` undefined) or a data message, and the calls it carries. */
interface SentMessage {
  calls: LaneCall[];
  bytes: Uint8Array | undefined;
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
 * after a dropped connection), but an idempotent one (with a producer) is sent again. It half-closes
 * once no call has waited for LANE_IDLE_MS. An aborted call that has not gone out (still batching, or waiting in the transport
 * for a connection or credit) is taken back and never sent; one that may have gone out rejects with
 * outcome unknown (docs/design.md, "Cancelled before sent").
 */
class PublishLane implements CallHolder {
  readonly #connection: Connection;
  readonly #stream: ClientStream;
  /** The unanswered calls of each message sent, in order: one for a publish, several for a batch. */
  readonly #sent: SentMessage[] = [];
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

  /** Opens the lane with its first call, sent with the stream's open; throws if the stream cannot be opened. */
  constructor(connection: Connection, storeId: string, first: LaneCall, owner: LaneOwner) {
    this.#connection = connection;
    this.#owner = owner;
    this.#maxBatchBytes = Math.min(MAX_BATCH_BYTES, connection.maxMessageBytes ?? MAX_BATCH_BYTES);
    this.#stream = connection.open(storeId, { ...first.request, lane: true });
    first.holder = this;
    this.#sent.push({ calls: [first], bytes: undefined });
    this.finished = this.#read();
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  publish(call: LaneCall): void {
    this.#connection.assertOpen();
    assertTransmittable(call.request);
    this.#enqueue(call);
  }

  #enqueue(call: LaneCall): void {
    if (this.#idleTimer !== undefined) {
      this.#stopIdleTimer();
      this.#owner.busy(this);
    }
    call.holder = this;
    const bytes = encodedSizeBound(call.request);
    if (this.#outbox.length >= MAX_PUBLISH_BATCH || BATCH_OVERHEAD_BYTES + this.#outboxBytes + bytes > this.#maxBatchBytes) this.#flush();
    this.#outbox.push(call);
    this.#outboxBytes += bytes;
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
  }

  abort(call: LaneCall, signal: AbortSignal): void {
    const queued = this.#outbox.indexOf(call);
    if (queued >= 0) {
      this.#outbox.splice(queued, 1);
      this.#outboxBytes -= encodedSizeBound(call.request);
      call.fail(cancelledError(signal));
    } else if (this.#withdraw(this.#sent.findIndex((message) => message.calls.includes(call)), call)) {
      call.fail(cancelledError(signal));
    } else {
      call.fail(outcomeUnknown("publish aborted", signal.reason));
    }
    this.#whenIdle();
  }

  /**
   * Takes back the message at `index` of #sent, which carries `aborted`, if the transport has not
   * sent it. Its other calls are queued again; taking back the open ends the lane unopened and sends
   * its other calls to another lane.
   */
  #withdraw(index: number, aborted: LaneCall): boolean {
    const message = this.#sent[index];
    const withdraw = this.#stream.withdraw?.bind(this.#stream);
    if (message === undefined || withdraw === undefined) return false;
    if (message.bytes !== undefined) {
      if (!withdraw(message.bytes)) return false;
      // The transport sends in order, so every later message is unsent too: take those back as well,
      // or the calls queued again would go out after them, out of the order they were made in.
      const later = this.#sent.splice(index).slice(1);
      const back = later.filter((queued) => queued.bytes !== undefined && withdraw(queued.bytes));
      this.#sent.push(...later.filter((queued) => !back.includes(queued)));
      this.#requeue([...message.calls.filter((call) => call !== aborted), ...back.flatMap((queued) => queued.calls)]);
      return true;
    }
    // The open carries the lane: take back every later message first (each is behind the open), so
    // that ending the stream unopened fails none of them.
    const later = this.#sent.splice(index + 1);
    const unsent = later.filter((queued) => queued.bytes !== undefined && withdraw(queued.bytes));
    this.#sent.push(...later.filter((queued) => !unsent.includes(queued)));
    if (this.#sent.length > 1 || !withdraw()) {
      this.#requeue(unsent.flatMap((queued) => queued.calls));
      return false;
    }
    this.#sent.length = 0;
    const calls = [...message.calls, ...unsent.flatMap((queued) => queued.calls), ...this.#outbox.splice(0)];
    this.#outboxBytes = 0;
    this.#stopAccepting();
    this.#owner.reroute(calls.filter((call) => call !== aborted && !call.settled));
    return true;
  }

  /** Queues again, ahead of anything queued since, the calls of a message taken back. */
  #requeue(calls: LaneCall[]): void {
    const waiting = this.#outbox.splice(0);
    this.#outboxBytes = 0;
    for (const call of [...calls, ...waiting]) if (!call.settled) this.#enqueue(call);
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
    this.#sent.push({ calls, bytes });
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
        const call = this.#sent[0]?.calls.shift();
        if (call === undefined) throw new StreamsError("internal", "publish lane answered more publishes than were sent");
        if (this.#sent[0]?.calls.length === 0) this.#sent.shift();
        if ("error" in result) call.fail(StreamsError.fromInfo(result.error));
        else call.answer({ space: call.request.space, segment: call.request.segment, ...result });
      }
    } else if (answer.$type === MessageTypes.publishError) {
      const message = this.#sent.shift();
      if (message === undefined) throw new StreamsError("internal", "publish lane refused a message that was not sent");
      const error = StreamsError.fromInfo(answer.error);
      for (const call of message.calls) call.fail(error);
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
    const calls = [...this.#sent.splice(0).flatMap((message) => message.calls), ...this.#outbox.splice(0)];
    this.#outboxBytes = 0;
    if (calls.length === 0) return;
    this.#stream.cancel();
    // An idempotent publish is sent again after a dropped connection: the server stores it once and
    // answers a repeat with the first acknowledgement (docs/protocol.md, Idempotent publish).
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
   * Per store, the calls waiting to be sent again after a lane broke, then the publishes made since:
   * they go out together, in order, so a producer's publishes to a segment keep their order.
   */
  readonly #retrying = new Map<string, LaneCall[]>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  publish(storeId: string, request: PublishRequest, signal: AbortSignal | undefined): Promise<SegmentStatus> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    const lane = this.#lanes.get(storeId);
    const call = new LaneCall(request, signal);
    const waiting = this.#retrying.get(storeId);
    if (waiting !== undefined) {
      try {
        this.#connection.assertOpen();
        assertTransmittable(request);
        this.#wait(waiting, call, cancelledError);
      } catch (error) {
        call.fail(error);
      }
      return call.promise;
    }
    try {
      if (lane?.accepting === true) lane.publish(call);
      else this.#open(storeId, call);
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
      retry: (calls, error) => this.#retry(storeId, calls, error),
    });
    this.#lanes.set(storeId, opened);
    return opened;
  }

  /**
   * Sends calls again after the retry policy's delay (none the first time), with the publishes made
   * meanwhile. An abort while they wait fails them: `aborted` says with what.
   */
  #retry(storeId: string, calls: LaneCall[], error: StreamsError): void {
    const policy = this.#connection.retry;
    const retries = Math.max(...calls.map((call) => ++call.retries));
    if (retries > policy.maxAttempts) {
      for (const call of calls) call.fail(error);
      return;
    }
    // These may have been stored: an abort now cannot say they were not.
    const sent = (signal: AbortSignal): StreamsError => outcomeUnknown("publish aborted", signal.reason);
    const waiting = this.#retrying.get(storeId);
    if (waiting !== undefined) {
      const since = waiting.splice(0);
      for (const call of calls) this.#wait(waiting, call, sent);
      waiting.push(...since);
      return;
    }
    const due: LaneCall[] = [];
    this.#retrying.set(storeId, due);
    for (const call of calls) this.#wait(due, call, sent);
    startTimer(
      () => {
        this.#retrying.delete(storeId);
        this.#reroute(storeId, due.filter((call) => !call.settled));
      },
      retryDelay(policy, retries - 1),
      { unref: false },
    );
  }

  /** Puts a call in a retry wait; aborted there, it leaves it and fails with `aborted`'s error. */
  #wait(waiting: LaneCall[], call: LaneCall, aborted: (signal: AbortSignal) => StreamsError): void {
    call.holder = {
      abort: (gone, signal) => {
        const index = waiting.indexOf(gone);
        if (index >= 0) waiting.splice(index, 1);
        gone.fail(aborted(signal));
      },
    };
    waiting.push(call);
  }

  /** Calls of a lane taken back before it opened: the first opens the next lane, the rest follow it. */
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

  /** Ends idle lanes and waits for the server to end them, so closing the client does not cut them. */
  async close(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((lane) => lane.closeIfIdle()));
  }
}
