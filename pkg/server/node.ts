import {
  decodeMessage,
  encodeMessage,
  type Message,
  opName,
  requiredAccess,
  type ServerStream,
  StreamsError,
  invalidArgument,
} from "../api/internal/index.js";
import type { Bus } from "../../bus/types.js";
import type { Store, StoreUsage } from "../../store/types.js";
import { AbortRace, forwardAbort } from "./abortable.js";
import { forClient } from "./conceal.js";
import { dispatch, type HandlerContext } from "./handlers/index.js";
import type { Logger } from "../api/logger.js";
import { noopObserver, type ServerObserver, type StreamObserver, teeStreamObserver } from "./metrics/observer.js";
import { secondsSince } from "./metrics/timings.js";
import { traceStream } from "./tracing.js";
import { WorkersRegistry } from "./live/workers-registry.js";
import type { WorkersRollCall } from "./live/workers-roll-call.js";
import { CommitNotifier } from "./live/notifications.js";
import { Follows } from "./live/follows.js";
import type { LiveRefreshes } from "./live/live-refreshes.js";
import { type LiveTailStats, type LiveTailTotals, LiveTails } from "./live/live-tails.js";
import { DEFAULT_WORKER_STALE_MIN_MS, type ServerLimits } from "./options.js";
import { RetentionSweeper, type RetentionSweepOptions } from "./retention-sweeper.js";
import { buildStoreDetail, type StoreDetail } from "./store-detail.js";
import type { Node } from "./types.js";

export interface StoreNodeOptions {
  storeId: string;
  store: Store;
  limits: ServerLimits;
  logger: Logger;
  bus: Bus;
  /** This instance's listeners of refresh announcements (docs/design.md, Buses). */
  refreshes: LiveRefreshes;
  /** Id of this server instance. */
  nodeId: string;
  /** Floor of a worker's stale window. Default 30 s. */
  workerStaleMinMs?: number;
  /** Hears every stream's traffic (metrics, status). Default: none. */
  observer?: ServerObserver;
  /** Asks the other instances for their workers when this store's registry opens. Default: none. */
  rollCall?: Pick<WorkersRollCall, "request">;
  /** Background retention sweeps (docs/lifecycle.md); absent or false: none. */
  retention?: RetentionSweepOptions | false;
}

const noRelease = (): void => undefined;

/** How old a store's measured usage may get before status asks for a new measure. */
const USAGE_MAX_AGE_MS = 5_000;

/** A stream being handled: its abort switch (node close) and a guard so it ends only once. */
interface OpenStream {
  readonly abort: AbortController;
  finish(error?: StreamsError): void;
}

/** Serves one store: decodes each stream's first message, checks access and runs its handler. */
export class StoreNode implements Node, AsyncDisposable {
  readonly storeId: string;
  readonly #store: Store;
  readonly #limits: ServerLimits;
  readonly #logger: Logger;
  readonly #bus: Bus;
  readonly #refreshes: LiveRefreshes;
  readonly #nodeId: string;
  readonly #workerStaleMinMs: number;
  readonly #rollCall: Pick<WorkersRollCall, "request"> | undefined;
  readonly #observer: ServerObserver;
  readonly #notifier: CommitNotifier;
  readonly #liveTails: LiveTails;
  readonly #follows = new Follows();
  #workers: WorkersRegistry | undefined;
  readonly #open = new Set<OpenStream>();
  readonly #running = new Set<Promise<void>>();
  #lastAccess: number;
  #closing: Promise<void> | undefined;
  #deleted = false;
  readonly #sweeper: RetentionSweeper | undefined;
  #usage: StoreUsage | undefined;
  #usageAt = 0;
  #measuring = false;

  constructor(options: StoreNodeOptions) {
    this.storeId = options.storeId;
    this.#store = options.store;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#bus = options.bus;
    this.#refreshes = options.refreshes;
    this.#nodeId = options.nodeId;
    this.#workerStaleMinMs = options.workerStaleMinMs ?? DEFAULT_WORKER_STALE_MIN_MS;
    this.#rollCall = options.rollCall;
    this.#observer = options.observer ?? noopObserver;
    this.#notifier = new CommitNotifier(options.bus, options.storeId, options.nodeId);
    this.#liveTails = new LiveTails({
      storeId: options.storeId,
      store: options.store,
      bus: options.bus,
      refreshes: options.refreshes,
      logger: options.logger,
      windowBytes: options.limits.liveWindowBytes,
    });
    this.#lastAccess = Date.now();
    const { retention } = options;
    this.#sweeper =
      retention === undefined || retention === false || options.store.features.lifecycle !== true
        ? undefined
        : new RetentionSweeper(options.store, retention, (status) => this.#notifier.committed(status), options.logger);
  }

  /** Enforces the store's retention now (operators and tests; the node also sweeps on its own). */
  async sweepRetention(): Promise<void> {
    await this.#sweeper?.sweep();
  }

  /**
   * The store's kept entries and stored bytes as last measured; asking starts a new measure in the
   * background when the last is older than USAGE_MAX_AGE_MS (a level store stats its files).
   */
  usage(): StoreUsage | undefined {
    if (!this.#measuring && this.#closing === undefined && Date.now() - this.#usageAt >= USAGE_MAX_AGE_MS) {
      this.#measuring = true;
      this.#store
        .usage()
        .then((usage) => {
          this.#usage = usage;
          this.#usageAt = Date.now();
        })
        .catch((error: unknown) => this.#logger.debug({ err: error, storeId: this.storeId }, "store usage unavailable"))
        .finally(() => (this.#measuring = false));
    }
    return this.#usage;
  }

  /** Entries this node's retention sweeps removed. */
  get sweptEntries(): number {
    return this.#sweeper?.removed ?? 0;
  }

  /** The shared live tails of the spaces followed on this node (status, tests). */
  liveTails(): LiveTailStats[] {
    return this.#liveTails.stats();
  }

  /** The live tails summed: followers, window bytes, fell-behind and the like (operator status, metrics). */
  liveTailTotals(): LiveTailTotals {
    return this.#liveTails.totals();
  }

  /** The store's spaces, segments and leases with this node's live tails, follows and workers (the operator drill-down). */
  detail(): Promise<StoreDetail> {
    const registry = this.hasWorkersRegistry ? this.#workers : undefined;
    return buildStoreDetail({
      storeId: this.storeId,
      openStreams: this.openStreams,
      lastAccess: this.lastAccess,
      store: this.#store,
      liveTails: this.#liveTails.stats(),
      liveTailTotals: this.#liveTails.totals(),
      follows: (limit) => ({ views: this.#follows.first(limit), count: this.#follows.size }),
      tailHead: (space) => this.#liveTails.head(space),
      workers: registry === undefined ? null : (limit) => registry.page(limit),
      logger: this.#logger,
    });
  }

  get openStreams(): number {
    return this.#open.size;
  }

  get lastAccess(): number {
    return this.#lastAccess;
  }

  /** The store was deleted through this node: the manager replaces it with a fresh one. */
  get deleted(): boolean {
    return this.#deleted;
  }

  /** Marks the node as used now (the manager calls it when handing the node out). */
  touch(): void {
    this.#lastAccess = Date.now();
  }

  handle(stream: ServerStream): Promise<void> {
    const meter = this.#observer.streamStarted(this.storeId);
    const running = traceStream(this.storeId, (span) => this.#serve(stream, teeStreamObserver(span, meter)));
    this.#running.add(running);
    return running.finally(() => this.#running.delete(running));
  }

  async #serve(stream: ServerStream, watch: StreamObserver): Promise<void> {
    if (this.#closing !== undefined) {
      const closing = new StreamsError("unavailable", `store ${this.storeId} is closing`);
      watch.ended(closing, false);
      stream.fail(closing);
      return;
    }
    const open = this.#track(stream, watch);
    // The handler's signal aborts when the stream does or the node closes, whichever comes first.
    const unlink = forwardAbort(stream.signal, open.abort);
    const race = new AbortRace(open.abort.signal);
    let op = "unknown";
    try {
      const context = this.#context(stream, race, open, watch);
      const request = await context.receive();
      if (request === undefined) throw invalidArgument("message", "the stream ended before its first message");
      op = opName(request.$type);
      this.#authorize(stream, request);
      await dispatch(request, context);
      open.finish();
    } catch (error) {
      open.finish(this.#toStreamsError(error, stream, op));
    } finally {
      unlink();
      race.dispose();
      this.#open.delete(open);
      this.touch();
    }
  }

  #track(stream: ServerStream, watch: StreamObserver): OpenStream {
    let finished = false;
    const open: OpenStream = {
      abort: new AbortController(),
      finish: (error) => {
        if (finished) return;
        finished = true;
        watch.ended(error, stream.signal.aborted);
        if (error === undefined) stream.end();
        else stream.fail(error);
      },
    };
    this.#open.add(open);
    this.touch();
    return open;
  }

  #context(stream: ServerStream, race: AbortRace, open: OpenStream, watch: StreamObserver): HandlerContext {
    const signal = open.abort.signal;
    return {
      storeId: this.storeId,
      store: this.#store,
      limits: this.#limits,
      bus: this.#bus,
      nodeId: this.#nodeId,
      refreshes: this.#refreshes,
      notifyCommitted: (status) => this.#notifier.committed(status),
      timeCommit: (commit) => this.#timeCommit(commit),
      logger: this.#logger,
      workers: () => this.#workersRegistry(),
      deleteStore: () => this.#deleteStore(open),
      principal: () => stream.principal,
      writesProducerMetadata: stream.writesProducerMetadata === true,
      reserve: (bytes) => stream.reserve?.(bytes) ?? noRelease,
      signal,
      receive: async () => {
        const bytes = await race.race(stream.receive());
        if (bytes === undefined) return undefined;
        const message = decodeMessage(bytes);
        watch.received(message);
        return message;
      },
      send: (message) => {
        watch.sending(message);
        return race.race(stream.send(encodeMessage(message)));
      },
      sendEncoded: (message, bytes) => {
        watch.sending(message);
        return race.race(stream.send(bytes, { shared: true }));
      },
      liveTails: this.#liveTails,
      follows: this.#follows,
      origin: stream.origin,
    };
  }

  #timeCommit<T>(commit: Promise<T>): Promise<T> {
    const observer = this.#observer;
    if (observer.commitTimed === undefined) return commit;
    const start = performance.now();
    commit.then(
      () => observer.commitTimed?.(this.storeId, secondsSince(start)),
      () => undefined, // a failed commit is the caller's to handle; it is not timed
    );
    return commit;
  }

  /** Deletes the store from outside any stream (operator API): every open stream ends with `not_found`. */
  deleteStore(): Promise<void> {
    return this.#deleteStore(undefined);
  }

  async #deleteStore(current: OpenStream | undefined): Promise<void> {
    const reason = new StreamsError("not_found", `store ${this.storeId} was deleted`);
    for (const open of this.#open) {
      if (open === current) continue;
      open.finish(reason);
      open.abort.abort(reason);
    }
    await this.#workers?.close();
    await this.#sweeper?.close();
    await this.#store.deleteStore();
    this.#deleted = true;
  }

  #workersRegistry(): WorkersRegistry {
    if (this.#closing !== undefined) throw new StreamsError("unavailable", `store ${this.storeId} closed on this server`);
    this.#workers ??= new WorkersRegistry({
      storeId: this.storeId,
      bus: this.#bus,
      logger: this.#logger,
      staleMinMs: this.#workerStaleMinMs,
      rollCall: this.#rollCall,
    });
    return this.#workers;
  }

  /** Whether this node holds a workers registry (a worker or observer used it). */
  get hasWorkersRegistry(): boolean {
    return this.#workers !== undefined && this.#closing === undefined;
  }

  /** Answers another instance's roll call for this store's workers, when this node has any (workers-roll-call.ts). */
  answerRollCall(to: string): boolean {
    if (this.#workers === undefined || this.#closing !== undefined) return false;
    this.#workers.answerRollCall(to, this.#nodeId);
    return true;
  }

  #authorize(stream: ServerStream, request: Message): void {
    const principal = stream.principal;
    if (principal === undefined) return;
    const access = requiredAccess(request);
    if (!principal.can(this.storeId, access)) {
      throw new StreamsError("permission_denied", `${opName(request.$type)} needs ${access} access to store ${this.storeId}`);
    }
  }

  /** StreamsErrors end the stream as they are; anything else is a bug, logged and reported as `internal`. */
  #toStreamsError(error: unknown, stream: ServerStream, op: string): StreamsError {
    if (!(error instanceof StreamsError) && stream.signal.aborted && error === stream.signal.reason) return StreamsError.from(error, "cancelled");
    return forClient(error, this.#logger, { storeId: this.storeId, op });
  }

  /** Ends open streams with `unavailable`, waits for their handlers, then closes the store. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Made only when a stream is there to hear it: most closes are idle evictions, and an error's stack costs.
    if (this.#open.size > 0) {
      const reason = new StreamsError("unavailable", `store ${this.storeId} closed on this server`);
      for (const open of this.#open) {
        open.finish(reason);
        open.abort.abort(reason);
      }
    }
    await Promise.allSettled(this.#running);
    // The sweeper's timer holds the node: left running, every closed node would stay in memory (and sweep a closed store).
    await this.#sweeper?.close();
    await this.#liveTails.close();
    await this.#workers?.close();
    await this.#store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
