import type { ErrorKind, LeaseResult, StreamsError } from "../../api/index.js";
import type { EvictionReason, ServerObserver, StreamObserver } from "./observer.js";
import { type ActivityRecorder, StreamMeter, type StreamRole } from "./stream-meter.js";
import type { TimingSink } from "./timings.js";

/** Entries and payload bytes that went through one store (or the whole instance). */
export interface TrafficTotals {
  entriesProduced: number;
  bytesProduced: number;
  entriesConsumed: number;
  bytesConsumed: number;
}

/** An error a stream ended with, for the operator's "recent errors". */
export interface RecentError {
  /** Milliseconds since epoch. */
  at: number;
  storeId: string;
  /** The operation, or "open" when the stream never reached a node. */
  op: string;
  kind: ErrorKind;
  message: string;
}

/** Counts since the instance started (counters) and right now (gauges). */
export interface ActivitySnapshot extends TrafficTotals {
  streamsOpen: { [op: string]: number };
  streamsTotal: { [op: string]: number };
  errors: { [kind: string]: number };
  /** Errors by operation, then kind ("open" / "upgrade" for what was refused before an operation began). */
  errorsByOp: { [op: string]: { [kind: string]: number } };
  /** WebSocket upgrades refused, by reason (missing_token, token_expired, too_many_connections, …). */
  upgradesRefused: { [reason: string]: number };
  evictions: { [reason: string]: number };
  circuitOpens: number;
  /** Status subscriptions open on this instance. */
  subscriptions: number;
  /** Workers registered through streams on this instance. */
  workers: number;
  /** Leases granted through this instance that are still live. */
  leases: number;
}

export interface ServerActivityOptions {
  /** How many errors `recentErrors()` keeps. Default 50. */
  recentErrors?: number;
  /** A store's traffic counts are forgotten after this long without traffic, or when its node is closed. Default 15 min. */
  forgetStoreAfterMs?: number;
}

interface StoreTraffic extends TrafficTotals {
  lastActivity: number;
}

const zeroTraffic = (): TrafficTotals => ({ entriesProduced: 0, bytesProduced: 0, entriesConsumed: 0, bytesConsumed: 0 });

const increment = (counts: Map<string, number>, key: string, by = 1): void => {
  counts.set(key, (counts.get(key) ?? 0) + by);
};

/** The kinds of a stream's end that count as server errors: a client that cancels or goes away did nothing wrong. */
const isServerError = (error: StreamsError | undefined, clientGone: boolean): error is StreamsError =>
  error !== undefined && !clientGone && error.kind !== "cancelled";

/**
 * What this server instance did: traffic per store, streams by op, errors by kind, evictions,
 * circuit opens, live subscriptions, workers and leases. Pass it to createNodeManager as its
 * `observer`; metrics and the operator status read it. No metrics library in here.
 */
export class ServerActivity implements ServerObserver {
  readonly #recentLimit: number;
  readonly #forgetAfterMs: number;
  readonly #totals = zeroTraffic();
  readonly #stores = new Map<string, StoreTraffic>();
  readonly #streamsOpen = new Map<string, number>();
  readonly #streamsTotal = new Map<string, number>();
  readonly #errors = new Map<string, number>();
  readonly #errorsByOp = new Map<string, Map<string, number>>();
  readonly #upgradesRefused = new Map<string, number>();
  readonly #evictions = new Map<string, number>();
  readonly #recent: RecentError[] = [];
  /** `storeId \0 key` → when the lease lapses (ms since epoch). */
  readonly #leases = new Map<string, number>();
  #circuitOpens = 0;
  #subscriptions = 0;
  #workers = 0;
  readonly #recorder: ActivityRecorder;
  readonly #timings = new Set<TimingSink>();

  constructor(options: ServerActivityOptions = {}) {
    this.#recentLimit = options.recentErrors ?? 50;
    this.#forgetAfterMs = options.forgetStoreAfterMs ?? 15 * 60_000;
    if (!Number.isSafeInteger(this.#recentLimit) || this.#recentLimit < 0) throw new TypeError("recentErrors must be an integer >= 0");
    if (!Number.isSafeInteger(this.#forgetAfterMs) || this.#forgetAfterMs < 1) throw new TypeError("forgetStoreAfterMs must be an integer >= 1");
    this.#recorder = {
      opened: (storeId, op, role) => this.#opened(op, role),
      produced: (storeId, entries, bytes) => this.#traffic(storeId, "entriesProduced", "bytesProduced", entries, bytes),
      consumed: (storeId, entries, bytes) => this.#traffic(storeId, "entriesConsumed", "bytesConsumed", entries, bytes),
      leaseResult: (storeId, key, result) => this.#leaseResult(storeId, key, result),
      failed: (storeId, op, error) => this.#error(storeId, op, error),
      closed: (storeId, op, role, error, clientGone) => this.#closed(storeId, op, role, error, clientGone),
      requestTimed: (op, seconds) => {
        for (const sink of this.#timings) sink.request(op, seconds);
      },
      followLag: (seconds) => {
        for (const sink of this.#timings) sink.followLag(seconds);
      },
    };
  }

  /** Hands every duration heard from now on to `sink` (the Prometheus histograms); returns the removal. */
  addTimingSink(sink: TimingSink): () => void {
    this.#timings.add(sink);
    return () => this.#timings.delete(sink);
  }

  commitTimed(_storeId: string, seconds: number): void {
    for (const sink of this.#timings) sink.commit(seconds);
  }

  streamStarted(storeId: string): StreamObserver {
    return new StreamMeter(this.#recorder, storeId);
  }

  streamRefused(storeId: string, error: StreamsError, op = "open"): void {
    this.#error(storeId, op, error);
  }

  /** A WebSocket upgrade refused (401 bad token, 503 full or shutting down); shown under recent errors too. */
  upgradeRefused(status: number, reason: string): void {
    increment(this.#upgradesRefused, reason);
    this.#remember({ at: Date.now(), storeId: "", op: "upgrade", kind: status === 401 ? "unauthenticated" : "unavailable", message: `HTTP ${status}: ${reason}` });
  }

  nodeEvicted(storeId: string, reason: EvictionReason): void {
    increment(this.#evictions, reason);
    // A closed store has no traffic to rate: kept, a server with many tenants would hold an entry
    // for every store it ever served until forgetStoreAfterMs (docs/tenants.md).
    this.#stores.delete(storeId);
  }

  circuitOpened(_storeId: string): void {
    this.#circuitOpens++;
  }

  snapshot(now = Date.now()): ActivitySnapshot {
    return {
      ...this.#totals,
      streamsOpen: Object.fromEntries(this.#streamsOpen),
      streamsTotal: Object.fromEntries(this.#streamsTotal),
      errors: Object.fromEntries(this.#errors),
      errorsByOp: Object.fromEntries([...this.#errorsByOp].map(([op, kinds]) => [op, Object.fromEntries(kinds)])),
      upgradesRefused: Object.fromEntries(this.#upgradesRefused),
      evictions: Object.fromEntries(this.#evictions),
      circuitOpens: this.#circuitOpens,
      subscriptions: this.#subscriptions,
      workers: this.#workers,
      leases: this.#liveLeases(now),
    };
  }

  /** Traffic totals per open store that had traffic recently (stores quiet for `forgetStoreAfterMs` or closed are dropped). */
  storeTraffic(now = Date.now()): Map<string, TrafficTotals> {
    const traffic = new Map<string, TrafficTotals>();
    for (const [storeId, store] of this.#stores) {
      if (now - store.lastActivity > this.#forgetAfterMs) {
        this.#stores.delete(storeId);
        continue;
      }
      const { lastActivity: _lastActivity, ...totals } = store;
      traffic.set(storeId, totals);
    }
    return traffic;
  }

  /** The latest errors, newest first. */
  recentErrors(): RecentError[] {
    return [...this.#recent].reverse();
  }

  #opened(op: string, role: StreamRole): void {
    increment(this.#streamsOpen, op);
    increment(this.#streamsTotal, op);
    if (role === "subscription") this.#subscriptions++;
    if (role === "worker") this.#workers++;
  }

  #closed(storeId: string, op: string | undefined, role: StreamRole, error: StreamsError | undefined, clientGone: boolean): void {
    if (op !== undefined) increment(this.#streamsOpen, op, -1);
    if (role === "subscription") this.#subscriptions--;
    if (role === "worker") this.#workers--;
    if (isServerError(error, clientGone)) this.#error(storeId, op ?? "unknown", error);
  }

  #error(storeId: string, op: string, error: StreamsError): void {
    increment(this.#errors, error.kind);
    let kinds = this.#errorsByOp.get(op);
    if (kinds === undefined) this.#errorsByOp.set(op, (kinds = new Map<string, number>()));
    increment(kinds, error.kind);
    this.#remember({ at: Date.now(), storeId, op, kind: error.kind, message: error.message });
  }

  #remember(error: RecentError): void {
    if (this.#recentLimit === 0) return;
    this.#recent.push(error);
    if (this.#recent.length > this.#recentLimit) this.#recent.shift();
  }

  #traffic(storeId: string, entriesKey: keyof TrafficTotals, bytesKey: keyof TrafficTotals, entries: number, bytes: number): void {
    this.#totals[entriesKey] += entries;
    this.#totals[bytesKey] += bytes;
    let store = this.#stores.get(storeId);
    if (store === undefined) {
      store = { ...zeroTraffic(), lastActivity: 0 };
      this.#stores.set(storeId, store);
    }
    store[entriesKey] += entries;
    store[bytesKey] += bytes;
    store.lastActivity = Date.now();
  }

  /** Any answer tells who holds the key now: a live holder, or nobody (holder ""). */
  #leaseResult(storeId: string, key: string, result: LeaseResult): void {
    const id = `${storeId}\u0000${key}`;
    if (result.holder !== "" && result.expiresAt > Date.now()) this.#leases.set(id, result.expiresAt);
    else this.#leases.delete(id);
  }

  #liveLeases(now: number): number {
    for (const [id, expiresAt] of this.#leases) if (expiresAt <= now) this.#leases.delete(id);
    return this.#leases.size;
  }
}
