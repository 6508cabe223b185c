import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  MessageTypes,
  type Response,
  StreamsError,
} from "../api/internal/index.js";
import { startTimer } from "../api/internal/timer.js";
import { callFailure } from "./abort.js";
import { assertTransmittable, type Connection } from "./connection.js";
import { type GiveUp, notSentError, sentError } from "./deadline.js";
import { batchMessage, encodedSizeBound, MAX_BATCH_BYTES, Outbox } from "./publish-batch.js";
import type { CallHolder, LaneCall } from "./publish-call.js";
import { type SentMessage, withdrawSent } from "./publish-withdraw.js";

/**
 * How long a lane left without calls stays open: a caller that publishes one at a time (await each,
 * do some work, publish again) keeps using one stream instead of opening one per publish. The timer
 * does not keep a Node process alive, and closing the client ends idle lanes at once.
 */
const LANE_IDLE_MS = 1_000;

/** What a lane tells the lanes of its client. */
export interface LaneOwner {
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

/**
 * One long-lived stream of a store's publishes (`publish` with `lane`, docs/protocol.md): the publishes made
 * together (in one microtask checkpoint: a loop, a Promise.all) go in one publish_batch, and are
 * answered in order.
 * An error answer fails its call alone; a broken stream fails every call waiting on it (`unavailable`
 * after a dropped connection), but an idempotent one (with a producer) is sent again. It half-closes
 * once no call has waited for LANE_IDLE_MS. A call given up (aborted, or past its deadline) that has not gone out (still
 * batching, or waiting in the transport for a connection or credit) is taken back and never sent (publish-withdraw.ts); one
 * that may have gone out rejects with outcome unknown (docs/design.md, "Cancelled before sent"), and a deadline passed
 * there retires the lane.
 */
export class PublishLane implements CallHolder {
  readonly #connection: Connection;
  readonly #stream: ClientStream;
  /** The unanswered calls of each message sent, in order: one for a publish, several for a batch. */
  readonly #sent: SentMessage[] = [];
  /** Calls made together, sent in one message once the current microtasks have run. */
  readonly #outbox: Outbox;
  readonly #owner: LaneOwner;
  #accepting = true;
  /** A call's deadline passed after it went out: the lane ends once its calls have settled. */
  #retired = false;
  /** Cancels the timer that ends the lane once it has been idle LANE_IDLE_MS. */
  #idleTimer: (() => void) | undefined;
  /** Settles once the server has ended the stream (or it broke). */
  readonly finished: Promise<void>;

  /** Opens the lane with its first call, sent with the stream's open; throws if the stream cannot be opened. */
  constructor(connection: Connection, storeId: string, first: LaneCall, owner: LaneOwner) {
    this.#connection = connection;
    this.#owner = owner;
    this.#outbox = new Outbox(Math.min(MAX_BATCH_BYTES, connection.maxMessageBytes ?? MAX_BATCH_BYTES));
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
    if (this.#outbox.full(bytes)) this.#flush();
    this.#outbox.push(call, bytes);
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
  }

  giveUp(call: LaneCall, why: GiveUp): void {
    if (this.#outbox.remove(call)) {
      call.fail(notSentError(why, "publish"));
      this.#whenIdle();
      return;
    }
    const withdrawal = withdrawSent(this.#sent, this.#sent.findIndex((message) => message.calls.includes(call)), call, this.#stream);
    switch (withdrawal.kind) {
      case "kept":
        this.#requeue(withdrawal.requeue);
        call.fail(sentError(why, "publish"));
        // No answer within the deadline: the stream may be stuck, so later publishes take a new lane.
        if ("timeoutMs" in why) this.#retire();
        break;
      case "taken":
        this.#requeue(withdrawal.requeue);
        call.fail(notSentError(why, "publish"));
        break;
      case "unopened": {
        // The lane ends unopened: its calls, and those still batching, go to another lane.
        const calls = [...withdrawal.calls, ...this.#outbox.take()];
        this.#stopAccepting();
        this.#owner.reroute(calls.filter((other) => other !== call && !other.settled));
        call.fail(notSentError(why, "publish"));
        break;
      }
    }
    this.#whenIdle();
    this.#cancelIfRetiredAndSettled();
  }

  /**
   * Takes no more publishes, and once every call it holds has settled (answered, or given up by
   * its own deadline or signal), cancels the stream, so a stuck lane does not hold it for good.
   */
  #retire(): void {
    this.#retired = true;
    this.#stopAccepting();
  }

  #cancelIfRetiredAndSettled(): void {
    if (!this.#retired || this.#outbox.length > 0 || !this.#sent.every((message) => message.calls.every((call) => call.settled))) return;
    this.#stream.cancel();
  }

  /** Queues again, ahead of anything queued since, the calls of messages taken back. */
  #requeue(calls: LaneCall[]): void {
    if (calls.length === 0) return;
    const waiting = this.#outbox.take();
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
    const calls = this.#outbox.take();
    if (calls.length === 0) return;
    const bytes = encodeMessage(batchMessage(calls));
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
        this.#cancelIfRetiredAndSettled();
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
    const calls = [...this.#sent.splice(0).flatMap((message) => message.calls), ...this.#outbox.take()];
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
