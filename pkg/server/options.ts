import type { BusFactory } from "../../bus/types.js";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { defaultMaxOpenStores, descriptorLimit } from "./descriptors.js";
import { type Logger, silentLogger } from "../api/logger.js";
import { type CommitRecoveryOptions, DEFAULT_COMMIT_RECOVERY } from "./commit-health.js";
import { noopObserver, type ServerObserver } from "./metrics/observer.js";
import { DEFAULT_RETENTION_SWEEP, type RetentionSweepOptions } from "./retention-sweeper.js";
import { checkLogger, isPlainObject, positiveInteger, withDefaults } from "../api/internal/options.js";

/** Closes nodes that have no open streams and no access for `idleTtlMs`, checking every `checkIntervalMs`. */
export interface IdleEvictionOptions {
  idleTtlMs: number;
  checkIntervalMs: number;
}

/** After `failureThreshold` consecutive open failures a store id fails fast for `openMs`, then one trial goes through. */
export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
}

/** What one request may carry (docs/limits.md); past a limit the stream fails with `resource_exhausted` (permanent). */
export interface ServerLimits {
  /** Largest record payload accepted, in bytes (default 6 MiB). */
  maxPayloadBytes: number;
  /** Spaces one `consume` may name (default 1,000). */
  maxSpacesPerConsume: number;
  /** Records one record batch of a produce may carry (default 10,000). */
  maxRecordsPerBatch: number;
  /** Entries of one metadata object: a record's, a publish's, a worker's (default 256). */
  maxMetadataEntries: number;
  /**
   * Bytes of recent entries each followed space keeps in memory for its followers (default 8 MiB;
   * docs/configuration.md). A follower further behind reads storage until it catches up.
   */
  liveWindowBytes: number;
}

export interface NodeManagerOptions {
  storeFactory: StoreFactory;
  /** Makes the bus that carries notifications between instances. Default: an in-process bus (mitt). */
  busFactory?: BusFactory;
  /** Partial values are merged with the defaults; `false` disables eviction. */
  idleEviction?: Partial<IdleEvictionOptions> | false;
  circuitBreaker?: Partial<CircuitBreakerOptions>;
  logger?: Logger;
  /** Names this server instance (status, logs). Default: a random UUID. */
  nodeId?: string;
  limits?: Partial<ServerLimits>;
  /** Floor of a worker's stale window: stale after max(3 × its keepalive interval, this) without one. Default 30 s. */
  workerStaleMinMs?: number;
  /** Hears streams, evictions and circuit opens: a ServerActivity feeds metrics and the operator status. Default: none. */
  observer?: ServerObserver;
  /**
   * Most stores open at once (docs/tenants.md). Default: from the process's descriptor limit and the
   * factory's `descriptorsPerStore` (half the limit for stores), at most 10,000.
   */
  maxOpenStores?: number;
  /** `retryAfterMs` of the `resource_exhausted` answered while every open store is busy. Default 1 s. */
  busyRetryAfterMs?: number;
  /** Reopening a store whose commits fail (docs/limits.md): backoff between reopens. Partial values keep the defaults. */
  commitRecovery?: Partial<CommitRecoveryOptions>;
  /** Background retention sweeps of open stores (docs/lifecycle.md); partial values merge with the defaults, `false` disables them. */
  retention?: Partial<RetentionSweepOptions> | false;
}

export interface ResolvedNodeManagerOptions {
  storeFactory: StoreFactory;
  busFactory: BusFactory;
  idleEviction: IdleEvictionOptions | false;
  circuitBreaker: CircuitBreakerOptions;
  logger: Logger;
  nodeId: string;
  limits: ServerLimits;
  workerStaleMinMs: number;
  observer: ServerObserver;
  maxOpenStores: number;
  busyRetryAfterMs: number;
  commitRecovery: CommitRecoveryOptions;
  retention: RetentionSweepOptions | false;
}

/** `limit` of a read is clamped to this (docs/design.md, Contracts); absent or 0 means this. */
export const MAX_CONSUME_LIMIT = 10_000_000;

export const DEFAULT_IDLE_EVICTION: IdleEvictionOptions = { idleTtlMs: 5 * 60_000, checkIntervalMs: 30_000 };
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = { failureThreshold: 3, openMs: 30_000 };
export const DEFAULT_LIMITS: ServerLimits = {
  maxPayloadBytes: 6 * 1024 * 1024,
  maxSpacesPerConsume: 1_000,
  maxRecordsPerBatch: 10_000,
  maxMetadataEntries: 256,
  liveWindowBytes: 8 * 1024 * 1024,
};
export const DEFAULT_WORKER_STALE_MIN_MS = 30_000;
export const DEFAULT_BUSY_RETRY_AFTER_MS = 1_000;

/** Merges options with the defaults and validates them; mistakes are TypeErrors. */
export function resolveNodeManagerOptions(options: NodeManagerOptions): ResolvedNodeManagerOptions {
  if (!isPlainObject(options)) throw new TypeError("options must be an object");
  const { storeFactory, busFactory, idleEviction, circuitBreaker, logger, nodeId, limits, workerStaleMinMs, observer, maxOpenStores, busyRetryAfterMs, retention } =
    options;
  if (options.commitRecovery !== undefined && !isPlainObject(options.commitRecovery)) throw new TypeError("commitRecovery must be an object");
  const commitRecovery = withDefaults(DEFAULT_COMMIT_RECOVERY, options.commitRecovery);
  positiveInteger(commitRecovery.initialBackoffMs, "commitRecovery.initialBackoffMs");
  positiveInteger(commitRecovery.maxBackoffMs, "commitRecovery.maxBackoffMs");
  if (!isPlainObject(storeFactory) || typeof storeFactory.open !== "function") {
    throw new TypeError("storeFactory must be a StoreFactory ({ open(storeId) })");
  }
  if (busFactory !== undefined && typeof busFactory !== "function") throw new TypeError("busFactory must be a function");
  if (idleEviction !== undefined && idleEviction !== false && !isPlainObject(idleEviction)) {
    throw new TypeError("idleEviction must be an object or false");
  }
  if (circuitBreaker !== undefined && !isPlainObject(circuitBreaker)) throw new TypeError("circuitBreaker must be an object");
  if (limits !== undefined && !isPlainObject(limits)) throw new TypeError("limits must be an object");
  if (nodeId !== undefined && (typeof nodeId !== "string" || nodeId === "")) throw new TypeError("nodeId must be a non-empty string");

  const eviction = idleEviction === false ? false : withDefaults(DEFAULT_IDLE_EVICTION, idleEviction);
  if (eviction !== false) {
    positiveInteger(eviction.idleTtlMs, "idleEviction.idleTtlMs");
    positiveInteger(eviction.checkIntervalMs, "idleEviction.checkIntervalMs");
  }
  const breaker = withDefaults(DEFAULT_CIRCUIT_BREAKER, circuitBreaker);
  positiveInteger(breaker.failureThreshold, "circuitBreaker.failureThreshold");
  positiveInteger(breaker.openMs, "circuitBreaker.openMs");
  const resolvedLimits = withDefaults(DEFAULT_LIMITS, limits);
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) positiveInteger(resolvedLimits[key], `limits.${key}`);
  if (workerStaleMinMs !== undefined) positiveInteger(workerStaleMinMs, "workerStaleMinMs");
  if (maxOpenStores !== undefined) positiveInteger(maxOpenStores, "maxOpenStores");
  if (busyRetryAfterMs !== undefined) positiveInteger(busyRetryAfterMs, "busyRetryAfterMs");
  const perStore = storeFactory.descriptorsPerStore ?? 0;
  if (typeof perStore !== "number" || !(perStore >= 0)) throw new TypeError("storeFactory.descriptorsPerStore must be a number >= 0");
  const hooks = ["streamStarted", "streamRefused", "nodeEvicted", "circuitOpened"] as const;
  if (observer !== undefined && (!isPlainObject(observer) || hooks.some((hook) => typeof observer[hook] !== "function"))) {
    throw new TypeError(`observer must have ${hooks.join(", ")}`);
  }

  if (retention !== undefined && retention !== false && !isPlainObject(retention)) throw new TypeError("retention must be an object or false");
  const sweep = retention === false ? false : withDefaults(DEFAULT_RETENTION_SWEEP, retention);
  if (sweep !== false) {
    positiveInteger(sweep.sweepIntervalMs, "retention.sweepIntervalMs");
    if (!isPlainObject(sweep.defaults)) throw new TypeError("retention.defaults must be an object of space retentions");
  }
  return {
    storeFactory,
    busFactory: busFactory ?? createMemoryBusFactory(),
    retention: sweep,
    idleEviction: eviction,
    circuitBreaker: breaker,
    logger: checkLogger(logger, silentLogger),
    nodeId: nodeId ?? globalThis.crypto.randomUUID(),
    limits: resolvedLimits,
    workerStaleMinMs: workerStaleMinMs ?? DEFAULT_WORKER_STALE_MIN_MS,
    observer: observer ?? noopObserver,
    maxOpenStores: maxOpenStores ?? defaultMaxOpenStores(descriptorLimit(), perStore),
    busyRetryAfterMs: busyRetryAfterMs ?? DEFAULT_BUSY_RETRY_AFTER_MS,
    commitRecovery,
  };
}
