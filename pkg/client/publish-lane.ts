import {
  cancelledError,
  type ClientStream,
  decodeAny,
  encodeMessage,
  MessageTypes,
  type PublishRequest,
  type Response,
  type SegmentStatus,
  StreamsError,
  startTimer,
} from "../api/index.js";
import { callFailure } from "./abort.js";
import { assertTransmittable, type Connection } from "./connection.js";
import { withoutType } from "./replies.js";

/**
 * How long a lane left without calls stays open: a caller that publishes one at a time (await each,
 * do some work, publish again) keeps using one stream instead of opening one per publish. The timer
 * does not keep a Node process alive, and closing the client ends idle lanes at once.
 */
const LANE_IDLE_MS = 1_000;

/** One publish waiting for its answer. Settles once; an abort settles it early (its answer is then dropped). */
class LaneCall {
  readonly promise: Promise<SegmentStatus>;
  #resolve!: (status: SegmentStatus) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #release: () => void = () => undefined;

  constructor(readonly signal: AbortSignal | undefined) {
    this.promise = new Promise<SegmentStatus>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal !== undefined) {
      const abort = () => this.fail(cancelledError(signal));
      signal.addEventListener("abort", abort, { once: true });
      this.#release = () => signal.removeEventListener("abort", abort);
    }
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

/** A lane answer: the publish's status, or the error that failed only that publish. */
function decodeAnswer(bytes: Uint8Array): SegmentStatus | StreamsError {
  const message = decodeAny(bytes) as Response;
  if (message.$type === MessageTypes.segmentStatus) return withoutType(message);
  if (message.$type === MessageTypes.publishError) return StreamsError.fromInfo(message.error);
  return new StreamsError("internal", `unexpected reply on a publish lane: ${String((message as { $type?: unknown }).$type)}`);
}

/**
 * One long-lived stream of a store's publishes (DESIGN §2 `publish` with `lane`): calls are sent as
 * they come and answered in order. An error answer fails its call alone; a broken stream fails every
 * call waiting on it (`unavailable` after a dropped connection: a publish is never retried). It
 * half-closes once no call has waited for LANE_IDLE_MS.
 */
class PublishLane {
  readonly #connection: Connection;
  readonly #stream: ClientStream;
  readonly #calls: LaneCall[] = [];
  readonly #onClosing: () => void;
  #accepting = true;
  /** Cancels the timer that ends the lane once it has been idle LANE_IDLE_MS. */
  #idleTimer: (() => void) | undefined;
  /** Settles once the server has ended the stream (or it broke). */
  readonly finished: Promise<void>;

  /** Opens the lane with its first publish; throws if the stream cannot be opened. */
  constructor(connection: Connection, storeId: string, first: PublishRequest, onClosing: () => void) {
    this.#connection = connection;
    this.#onClosing = onClosing;
    this.#stream = connection.open(storeId, { ...first, lane: true });
    this.finished = this.#read();
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** The first publish's answer (sent with the stream's open). */
  first(signal: AbortSignal | undefined): Promise<SegmentStatus> {
    return this.#track(signal);
  }

  publish(request: PublishRequest, signal: AbortSignal | undefined): Promise<SegmentStatus> {
    this.#connection.assertOpen();
    assertTransmittable(request);
    const answer = this.#track(signal);
    this.#stream.send(encodeMessage(request)).catch((error: unknown) => this.#break(error));
    return answer;
  }

  /** Half-closes the lane if no call waits; resolves once the server has ended it. */
  async closeIfIdle(): Promise<void> {
    if (this.#calls.length > 0) return;
    this.#end();
    await this.finished;
  }

  #track(signal: AbortSignal | undefined): Promise<SegmentStatus> {
    this.#stopIdleTimer();
    const call = new LaneCall(signal);
    this.#calls.push(call);
    return call.promise;
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const bytes = await this.#stream.receive();
        if (bytes === undefined) break;
        const call = this.#calls.shift();
        if (call === undefined) throw new StreamsError("internal", "publish lane answered more publishes than were sent");
        const answer = decodeAnswer(bytes);
        if (answer instanceof StreamsError) call.fail(answer);
        else call.answer(answer);
        if (this.#calls.length === 0) this.#idleTimer ??= startTimer(() => this.#end(), LANE_IDLE_MS, { unref: true });
      }
      this.#break(new StreamsError("internal", "publish lane ended with publishes unanswered"));
    } catch (error) {
      this.#break(error);
    }
  }

  #end(): void {
    if (!this.#accepting) return;
    this.#stopAccepting();
    this.#stream.end();
  }

  /** The stream broke: every waiting call fails, and later publishes go to a new lane. */
  #break(error: unknown): void {
    this.#stopAccepting();
    if (this.#calls.length === 0) return;
    this.#stream.cancel();
    for (const call of this.#calls.splice(0)) call.fail(callFailure(error, call.signal, this.#connection.closed));
  }

  #stopIdleTimer(): void {
    this.#idleTimer?.();
    this.#idleTimer = undefined;
  }

  #stopAccepting(): void {
    this.#stopIdleTimer();
    if (!this.#accepting) return;
    this.#accepting = false;
    this.#onClosing();
  }
}

/** The client's publish lanes, one per store, opened by the first publish and ended when idle. */
export class PublishLanes {
  readonly #connection: Connection;
  readonly #lanes = new Map<string, PublishLane>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  publish(storeId: string, request: PublishRequest, signal: AbortSignal | undefined): Promise<SegmentStatus> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    const lane = this.#lanes.get(storeId);
    if (lane?.accepting === true) return lane.publish(request, signal);
    const opened: PublishLane = new PublishLane(this.#connection, storeId, request, () => {
      if (this.#lanes.get(storeId) === opened) this.#lanes.delete(storeId);
    });
    this.#lanes.set(storeId, opened);
    return opened.first(signal);
  }

  /** Ends idle lanes and waits for the server to end them, so closing the client does not cut them. */
  async close(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((lane) => lane.closeIfIdle()));
  }
}
