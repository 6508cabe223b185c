import {
  cancelledError,
  type ClientStream,
  decodeAny,
  MessageTypes,
  type SegmentStatusMessage,
  StreamsError,
  type SubscribeToSegmentStatusRequest,
} from "../api/index.js";
import { throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { withoutType } from "./replies.js";
import { pause, retryDelay } from "./retry-policy.js";
import type { StatusListener, StatusSubscription, SubscriptionState } from "./subscribe-types.js";

export interface StatusSubscriptionParams {
  storeId: string;
  request: SubscribeToSegmentStatusRequest;
  onStatus: StatusListener;
  onError: ((error: StreamsError) => void) | undefined;
  signal: AbortSignal | undefined;
}

/**
 * Opens a status subscription and resolves once the server has sent the snapshot and acknowledged
 * (`caught_up`), the snapshot having gone through `onStatus`. Rejects with the first attempt's error.
 */
export async function subscribeToStatus(connection: Connection, params: StatusSubscriptionParams): Promise<StatusSubscription> {
  throwIfAborted(params.signal);
  connection.assertOpen();
  const subscription = new LiveStatusSubscription(connection, params);
  await subscription.established;
  return subscription;
}

/**
 * One subscription across as many streams as it takes: a transient failure after it was established
 * (a dropped connection, a node closing) opens a new stream, with backoff while attempts keep failing,
 * and the server sends a snapshot again, then live updates. Anything else ends it for good.
 */
class LiveStatusSubscription implements StatusSubscription {
  readonly closed: Promise<StreamsError | undefined>;
  readonly established: Promise<void>;
  readonly #connection: Connection;
  readonly #params: StatusSubscriptionParams;
  readonly #state: SubscriptionState = { status: "connected", lastMessageAt: 0, reconnects: 0 };
  /** Aborted when the subscription ends: cuts a backoff pause short. */
  readonly #ending = new AbortController();
  #resolveClosed!: (error: StreamsError | undefined) => void;
  #resolveEstablished!: () => void;
  #rejectEstablished!: (error: StreamsError) => void;
  #isEstablished = false;
  /** The current stream has received a message. */
  #attemptReached = false;
  #stream: ClientStream | undefined;
  readonly #onAbort = (): void => {
    const signal = this.#params.signal;
    if (signal !== undefined) this.#end(cancelledError(signal), false);
  };

  constructor(connection: Connection, params: StatusSubscriptionParams) {
    this.#connection = connection;
    this.#params = params;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.established = new Promise((resolve, reject) => {
      this.#resolveEstablished = resolve;
      this.#rejectEstablished = reject;
    });
    params.signal?.addEventListener("abort", this.#onAbort, { once: true });
    void this.#run();
  }

  get state(): SubscriptionState {
    return { ...this.#state };
  }

  async unsubscribe(): Promise<void> {
    this.#end(undefined, false);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unsubscribe();
  }

  get #ended(): boolean {
    return this.#ending.signal.aborted;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#ended) {
      const error = await this.#attempt();
      if (this.#ended) return;
      if (this.#connection.closed) return this.#end(new StreamsError("unavailable", "client is closed", { cause: error }), false);
      if (!this.#isEstablished || !error.transient) return this.#end(error, true);
      failures = this.#attemptReached ? 0 : failures + 1;
      this.#state.status = "reconnecting";
      await pause(retryDelay(this.#connection.retry, failures, error.retryAfterMs), this.#ending.signal);
    }
  }

  /** Runs one stream until it fails; returns why it ended. */
  async #attempt(): Promise<StreamsError> {
    this.#attemptReached = false;
    let stream: ClientStream;
    try {
      stream = this.#connection.open(this.#params.storeId, this.#params.request);
    } catch (error) {
      return StreamsError.from(error);
    }
    this.#stream = stream;
    try {
      for (;;) {
        const bytes = await stream.receive();
        if (bytes === undefined) return new StreamsError("unavailable", "the server ended the subscription");
        await this.#onMessage(bytes);
      }
    } catch (error) {
      stream.cancel();
      return StreamsError.from(error);
    }
  }

  async #onMessage(bytes: Uint8Array): Promise<void> {
    this.#state.lastMessageAt = Date.now();
    if (!this.#attemptReached) this.#reached();
    const message = decodeAny(bytes) as { $type?: unknown } | null;
    const type = message?.$type;
    if (type === MessageTypes.caughtUp) return this.#caughtUp();
    if (type !== MessageTypes.segmentStatus) throw new StreamsError("internal", `unexpected message in a status subscription: ${String(type)}`);
    if (this.#ended) return;
    try {
      await this.#params.onStatus(withoutType(message as SegmentStatusMessage));
    } catch (error) {
      throw new StreamsError("internal", "the status listener threw", { cause: error });
    }
  }

  /** The first message of a stream: a resubscription is connected again from here (its snapshot follows). */
  #reached(): void {
    this.#attemptReached = true;
    if (!this.#isEstablished) return;
    this.#state.status = "connected";
    this.#state.reconnects++;
  }

  /** The first stream's snapshot is complete: the subscription is established. */
  #caughtUp(): void {
    if (this.#isEstablished) return;
    this.#isEstablished = true;
    this.#resolveEstablished();
  }

  /** Ends for good (idempotent). `report`: an established subscription tells `onError`. */
  #end(error: StreamsError | undefined, report: boolean): void {
    if (this.#ended) return;
    this.#ending.abort();
    this.#state.status = "closed";
    this.#params.signal?.removeEventListener("abort", this.#onAbort);
    this.#stream?.cancel();
    if (!this.#isEstablished) this.#rejectEstablished(error ?? new StreamsError("cancelled", "unsubscribed"));
    else if (report && error !== undefined) this.#report(error);
    this.#resolveClosed(error);
  }

  #report(error: StreamsError): void {
    try {
      this.#params.onError?.(error);
    } catch {
      // Nowhere better to report it: `closed` carries the error that ended the subscription.
    }
  }
}
