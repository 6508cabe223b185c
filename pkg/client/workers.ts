import { cancelledError, type ClientStream, encodeMessage, MessageTypes, StreamsError } from "../api/index.js";
import { throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { decodeReply, withoutType } from "./replies.js";
import { pause, retryDelay } from "./retry-policy.js";
import type { SubscriptionState } from "./subscribe-types.js";
import type { WorkersSubscriptionParams } from "./workers-request.js";
import type { WorkersSubscription } from "./workers-types.js";

const KEEPALIVE = encodeMessage({ $type: MessageTypes.workerKeepalive });

/**
 * Registers a worker or observes the inventory; resolves once the first inventory went through the
 * listener. Rejects with the first attempt's error (`permission_denied` for a read-only scope
 * registering a worker, …).
 */
export async function subscribeWorkers(connection: Connection, params: WorkersSubscriptionParams): Promise<WorkersSubscription> {
  throwIfAborted(params.signal);
  connection.assertOpen();
  const subscription = new LiveWorkersSubscription(connection, params);
  await subscription.established;
  return subscription;
}

/**
 * One registration (or observation) across as many streams as it takes: a transient failure after
 * it was established opens a new stream, with backoff while attempts keep failing. Anything else —
 * a permanent error, or `cancelled` because a newer stream took over the worker id — ends it for good.
 */
class LiveWorkersSubscription implements WorkersSubscription {
  readonly closed: Promise<StreamsError | undefined>;
  readonly established: Promise<void>;
  readonly #connection: Connection;
  readonly #params: WorkersSubscriptionParams;
  readonly #state: SubscriptionState = { status: "connected", lastMessageAt: 0, reconnects: 0 };
  /** Aborted when the subscription ends: cuts a backoff pause short. */
  readonly #ending = new AbortController();
  #resolveClosed!: (error: StreamsError | undefined) => void;
  #resolveEstablished!: () => void;
  #rejectEstablished!: (error: StreamsError) => void;
  #isEstablished = false;
  /** The current stream delivered an inventory. */
  #attemptEstablished = false;
  #stream: ClientStream | undefined;
  readonly #onAbort = (): void => {
    const signal = this.#params.signal;
    if (signal !== undefined) this.#end(cancelledError(signal));
  };

  constructor(connection: Connection, params: WorkersSubscriptionParams) {
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
    this.#end(undefined);
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
      if (this.#connection.closed) return this.#end(new StreamsError("unavailable", "client is closed", { cause: error }));
      if (!this.#isEstablished || !error.transient) return this.#end(error);
      failures = this.#attemptEstablished ? 0 : failures + 1;
      this.#state.status = "reconnecting";
      await pause(retryDelay(this.#connection.retry, failures, error.retryAfterMs), this.#ending.signal);
    }
  }

  /** Runs one stream until it fails; returns why it ended. */
  async #attempt(): Promise<StreamsError> {
    this.#attemptEstablished = false;
    let stream: ClientStream;
    try {
      stream = this.#connection.open(this.#params.storeId, this.#params.request);
    } catch (error) {
      return StreamsError.from(error);
    }
    this.#stream = stream;
    const stopKeepalives = this.#sendKeepalives(stream);
    try {
      for (;;) {
        const bytes = await stream.receive();
        if (bytes === undefined) return new StreamsError("unavailable", "the server ended the workers stream");
        await this.#onInventory(bytes);
      }
    } catch (error) {
      stream.cancel();
      return StreamsError.from(error);
    } finally {
      stopKeepalives();
    }
  }

  /** A worker stream's keepalives; a failed send needs no handling here, as the stream's receive fails too. */
  #sendKeepalives(stream: ClientStream): () => void {
    const { keepaliveMs } = this.#params;
    if (keepaliveMs === undefined) return () => undefined;
    const timer = setInterval(() => void stream.send(KEEPALIVE).catch(() => undefined), keepaliveMs);
    return () => clearInterval(timer);
  }

  async #onInventory(bytes: Uint8Array): Promise<void> {
    this.#state.lastMessageAt = Date.now();
    const inventory = withoutType(decodeReply(bytes, MessageTypes.workerInventory));
    if (this.#ended) return;
    try {
      await this.#params.onInventory(inventory);
    } catch (error) {
      throw new StreamsError("internal", "the inventory listener threw", { cause: error });
    }
    if (!this.#attemptEstablished) this.#established();
  }

  /** The current stream delivered its first inventory: registered (or observing) again. */
  #established(): void {
    this.#attemptEstablished = true;
    this.#state.status = "connected";
    if (this.#isEstablished) {
      this.#state.reconnects++;
      return;
    }
    this.#isEstablished = true;
    this.#resolveEstablished();
  }

  /** Ends for good (idempotent). */
  #end(error: StreamsError | undefined): void {
    if (this.#ended) return;
    this.#ending.abort();
    this.#state.status = "closed";
    this.#params.signal?.removeEventListener("abort", this.#onAbort);
    this.#stream?.cancel();
    if (!this.#isEstablished) this.#rejectEstablished(error ?? new StreamsError("cancelled", "unsubscribed"));
    this.#resolveClosed(error);
  }
}
