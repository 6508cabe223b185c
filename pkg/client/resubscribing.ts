import { cancelledError, type ClientStream, type Request, StreamsError } from "../api/internal/index.js";
import { onAbort } from "./abort-listeners.js";
import { throwIfAborted } from "./abort.js";
import type { Connection } from "./connection.js";
import { pause, retryDelay } from "./retry-policy.js";
import type { SubscriptionState } from "./subscribe-types.js";

/** What a handler tells about the current stream, and how it hands a message to the caller's listener. */
export interface StreamProgress {
  /** The stream shows it is up: connected (again); its backoff starts over. Once per stream. */
  live(): void;
  /** The stream is live and the subscription established (resolves `established` the first time). */
  establish(): void;
  /** Awaits `listener` unless the subscription has ended; a throwing listener fails the stream with `internal`. */
  deliver(listener: () => void | Promise<void>, failure: string): Promise<void>;
}

/** What one kind of resubscribing stream does; the lifecycle around its streams is shared. */
export interface ResubscribingStreamSpec {
  storeId: string;
  /** Opens each stream, the first and every resubscription. */
  request: Request;
  signal: AbortSignal | undefined;
  /** Says what the server ended when it closes a stream cleanly: "subscription", "workers stream". */
  streamName: string;
  /** Told once when an established subscription ends for good with an error. */
  onError?: ((error: StreamsError) => void) | undefined;
  /** Per-stream setup (a keepalive timer); returns its teardown, run when the stream ends. */
  onOpen?: (stream: ClientStream) => () => void;
  /** Handles one message of the current stream; throwing fails the stream. */
  onMessage(bytes: Uint8Array, progress: StreamProgress): Promise<void>;
}

/** An established resubscribing stream: the shape of StatusSubscription and WorkersSubscription. */
export interface Resubscription extends AsyncDisposable {
  unsubscribe(): Promise<void>;
  readonly closed: Promise<StreamsError | undefined>;
  readonly state: SubscriptionState;
}

/** Opens a resubscribing stream; resolves once established, rejects with the first attempt's error. */
export async function openResubscribing(connection: Connection, spec: ResubscribingStreamSpec): Promise<Resubscription> {
  throwIfAborted(spec.signal);
  connection.assertOpen();
  const subscription = new ResubscribingStream(connection, spec);
  await subscription.established;
  return subscription;
}

/**
 * One subscription across as many streams as it takes: a transient failure after it was established
 * (a dropped connection, a node closing) opens a new stream, with backoff while attempts keep failing.
 * Anything else (a permanent error, `cancelled` from the server) ends it for good.
 */
class ResubscribingStream implements Resubscription {
  readonly closed: Promise<StreamsError | undefined>;
  readonly established: Promise<void>;
  readonly #connection: Connection;
  readonly #spec: ResubscribingStreamSpec;
  readonly #state: SubscriptionState = { status: "connected", lastMessageAt: 0, reconnects: 0 };
  /** Aborted when the subscription ends: cuts a backoff pause short. */
  readonly #ending = new AbortController();
  #stopListening: () => void = () => undefined;
  #resolveClosed!: (error: StreamsError | undefined) => void;
  #resolveEstablished!: () => void;
  #rejectEstablished!: (error: StreamsError) => void;
  #isEstablished = false;
  /** The current stream has shown it is up. */
  #attemptLive = false;
  #stream: ClientStream | undefined;
  readonly #progress: StreamProgress = {
    live: () => this.#live(),
    establish: () => this.#establish(),
    deliver: (listener, failure) => this.#deliver(listener, failure),
  };
  readonly #onAbort = (): void => {
    const signal = this.#spec.signal;
    if (signal !== undefined) this.#end(cancelledError(signal), false);
  };

  constructor(connection: Connection, spec: ResubscribingStreamSpec) {
    this.#connection = connection;
    this.#spec = spec;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.established = new Promise((resolve, reject) => {
      this.#resolveEstablished = resolve;
      this.#rejectEstablished = reject;
    });
    if (spec.signal !== undefined) this.#stopListening = onAbort(spec.signal, this.#onAbort);
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
      failures = this.#attemptLive ? 0 : failures + 1;
      this.#state.status = "reconnecting";
      await pause(retryDelay(this.#connection.retry, failures, error.retryAfterMs), this.#ending.signal);
    }
  }

  /** Runs one stream until it fails; returns why it ended. */
  async #attempt(): Promise<StreamsError> {
    this.#attemptLive = false;
    let stream: ClientStream;
    try {
      stream = this.#connection.open(this.#spec.storeId, this.#spec.request);
    } catch (error) {
      return StreamsError.from(error);
    }
    this.#stream = stream;
    const teardown = this.#spec.onOpen?.(stream);
    try {
      for (;;) {
        const bytes = await stream.receive();
        if (bytes === undefined) return new StreamsError("unavailable", `the server ended the ${this.#spec.streamName}`);
        this.#state.lastMessageAt = Date.now();
        await this.#spec.onMessage(bytes, this.#progress);
      }
    } catch (error) {
      stream.cancel();
      return StreamsError.from(error);
    } finally {
      teardown?.();
    }
  }

  #live(): void {
    if (this.#attemptLive || this.#ended) return;
    this.#attemptLive = true;
    this.#state.status = "connected";
    if (this.#isEstablished) this.#state.reconnects++;
  }

  #establish(): void {
    this.#live();
    if (this.#isEstablished || this.#ended) return;
    this.#isEstablished = true;
    this.#resolveEstablished();
  }

  async #deliver(listener: () => void | Promise<void>, failure: string): Promise<void> {
    if (this.#ended) return;
    try {
      await listener();
    } catch (error) {
      throw new StreamsError("internal", failure, { cause: error });
    }
  }

  /** Ends for good (idempotent). `report`: an established subscription tells `onError`. */
  #end(error: StreamsError | undefined, report: boolean): void {
    if (this.#ended) return;
    this.#ending.abort();
    this.#state.status = "closed";
    this.#stopListening();
    this.#stream?.cancel();
    if (!this.#isEstablished) this.#rejectEstablished(error ?? new StreamsError("cancelled", "unsubscribed"));
    else if (report && error !== undefined) this.#report(error);
    this.#resolveClosed(error);
  }

  #report(error: StreamsError): void {
    try {
      this.#spec.onError?.(error);
    } catch {
      // Nowhere better to report it: `closed` carries the error that ended the subscription.
    }
  }
}
