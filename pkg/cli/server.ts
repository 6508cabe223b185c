import { mkdir } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo, Server as NetServer } from "node:net";
import { resolve } from "node:path";
import type { Bus } from "../../bus/types.js";
import type { StoreFactory } from "../../store/types.js";
import { type DataDirLock, lockDataDir } from "../../store/level/index.js";
import { attachStreamz, STREAMZ_DEFAULTS, type StreamzServer } from "../../transport/ws/server/index.js";
import { createDurableStreamsHandler } from "../../transport/http/index.js";
import { withAnonymousScopes } from "../server/auth/index.js";
import {
  createNodeManager,
  createOperatorHandler,
  descriptorLimit,
  type NodeManagerOptions,
  ServerActivity,
  type StoreNodeManager,
} from "../server/index.js";
import type { Logger } from "../api/logger.js";
import { createServerAuth } from "./auth.js";
import { openBusFactory, openStoreBackend, type StoreBackend } from "./backends.js";
import { resolveConfig, type ServeConfig, type ServeConfigInput } from "./config/index.js";
import { createLimitedHttpServer, refuseOtherUpgrades } from "./http-limits.js";
import { closeServer, listenTcp, listenUnixSocket } from "./listeners.js";
import { createCliLogger } from "./logger.js";
import { createProbeHandler, type DependencyStatus, type Readiness } from "./probes.js";

/** The close code and reason that tell clients to reconnect (elsewhere). */
export const GOING_AWAY = { code: 1001, reason: "going away" } as const;

export interface RunningServer {
  /** Base HTTP URL of the TCP listener (`/healthz`, `/readyz`), e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The same listener for the client provider, e.g. `ws://127.0.0.1:8080`. */
  readonly wsUrl: string;
  readonly unixSocket: string | undefined;
  /** Present when no key is configured: a 24 h token for every store, signed with the dev secret. */
  readonly devToken: string | undefined;
  readonly config: ServeConfig;
  /**
   * Graceful stop: stops accepting, closes WebSocket connections with 1001 "going away", waits for
   * in-flight commits and closes the stores. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartServerOptions {
  /** Default: a pino logger on stderr at the config's level and format. */
  logger?: Logger;
  /**
   * Operator endpoints: whether local requests may use the admin endpoints without a token (default
   * true), and the rate history's sampling (docs/operator.md; tests sample faster).
   */
  operator?: { trustLoopback?: boolean; historyIntervalMs?: number; historyWindowMs?: number };
  /** Wraps the configured store factory: fault injection in tests (a disk that fills up). */
  wrapStoreFactory?: (factory: StoreFactory) => StoreFactory;
  /** Waits between reopens of a store whose commits fail (docs/limits.md). Default 1 s doubling to 30 s. */
  commitRecovery?: NodeManagerOptions["commitRecovery"];
}

type Phase = "starting" | "ready" | "stopping";

/** Unspecified bind addresses are not dialable; clients on this machine use loopback. */
function dialableHost(address: AddressInfo): string {
  if (address.address === "0.0.0.0") return "127.0.0.1";
  if (address.address === "::") return "[::1]";
  return address.family === "IPv6" ? `[${address.address}]` : address.address;
}

/**
 * A bus that is down never fails a produce (docs/design.md), so by default it leaves the instance
 * ready and is reported `degraded`: a Redis blip must not pull every instance out of the balancer.
 */
function busStatus(bus: Bus, config: ServeConfig, phase: Phase): DependencyStatus {
  const details = { backend: config.bus, dropped: bus.stats.dropped };
  if (phase !== "ready") return { state: phase, ...details };
  if (bus.connected) return { state: "ok", ...details };
  return { state: config.busDownReadiness === "degraded" ? "degraded" : "failing", ...details };
}

/** Failing while a store's last commit failed (it is being reopened: docs/limits.md). */
function commitsStatus(manager: StoreNodeManager, phase: Phase): DependencyStatus {
  const failing = manager.failingCommits();
  if (phase !== "ready") return { state: phase, failing };
  return { state: failing.length === 0 ? "ok" : "failing", failing };
}

async function storeStatus(backend: StoreBackend, phase: Phase): Promise<DependencyStatus> {
  const status = await backend.check();
  return phase === "ready" ? status : { ...status, state: phase };
}

/**
 * Runs the `streamkit serve` server in this process: stores, NodeManager with idle eviction, one
 * HTTP server with `/healthz`, `/readyz`, the operator endpoints and dashboard, and the WebSocket
 * endpoint, on TCP and optionally a unix socket. `input` is validated like a config file (ConfigError naming every problem).
 */
export async function startServer(input: ServeConfigInput = {}, options: StartServerOptions = {}): Promise<RunningServer> {
  const config = await resolveConfig(input);
  const logger = options.logger ?? createCliLogger({ level: config.logLevel, pretty: config.logPretty });
  const { limits } = config;
  let phase: Phase = "starting";
  const listening: { tcp?: string; unixSocket?: string } = {};

  const readiness = async (): Promise<Readiness> => {
    const listeners: DependencyStatus = { state: phase === "ready" ? "ok" : phase, ...listening };
    const dependencies = {
      listeners,
      store: await storeStatus(store, phase),
      commits: commitsStatus(manager, phase),
      bus: busStatus(manager.bus, config, phase),
    };
    const ready = Object.values(dependencies).every((dependency) => dependency.state === "ok" || dependency.state === "degraded");
    return { status: ready ? "ready" : "not_ready", dependencies };
  };

  await mkdir(resolve(config.dataDir), { recursive: true });
  // Fails here, before anything listens, when another process serves this data directory.
  const dataDirLock: DataDirLock | undefined = config.store === "level" ? await lockDataDir(resolve(config.dataDir)) : undefined;
  const auth = await createServerAuth(config.auth, config.dataDir, logger).catch(async (error: unknown) => {
    await dataDirLock?.release();
    throw error;
  });
  const store = openStoreBackend(config);
  const storeFactory = options.wrapStoreFactory?.(store.factory) ?? store.factory;
  const activity = new ServerActivity();
  const manager: StoreNodeManager = createNodeManager({
    storeFactory,
    busFactory: openBusFactory(config, logger),
    observer: activity,
    logger,
    limits: {
      maxPayloadBytes: limits.maxPayloadBytes,
      maxSpacesPerConsume: limits.maxSpacesPerConsume,
      maxRecordsPerBatch: limits.maxRecordsPerBatch,
      maxMetadataEntries: limits.maxMetadataEntries,
      liveWindowBytes: limits.liveWindowBytes,
    },
    idleEviction: limits.idleTtlMs === 0 ? false : { idleTtlMs: limits.idleTtlMs, checkIntervalMs: limits.idleCheckIntervalMs },
    maxOpenStores: limits.maxOpenStores === 0 ? undefined : limits.maxOpenStores,
    retention: limits.retentionSweepIntervalMs === 0 ? false : { sweepIntervalMs: limits.retentionSweepIntervalMs, defaults: config.retention ?? {} },
    commitRecovery: options.commitRecovery,
  });
  const httpServer: HttpServer = createLimitedHttpServer(limits);
  refuseOtherUpgrades(httpServer, [STREAMZ_DEFAULTS.path]);
  // Requests without a token get the anonymous scopes on both APIs (never on the operator endpoints).
  const authenticator = withAnonymousScopes(auth.authenticator, parseScopeList(config.auth.anonymousScopes));
  const streamz: StreamzServer = attachStreamz(httpServer, {
    observer: activity,
    manager,
    authenticator,
    maxFrameBytes: limits.maxFrameBytes,
    maxStreamsPerConnection: limits.maxStreamsPerConnection,
    maxConnections: limits.maxConnections,
    pingIntervalMs: limits.pingIntervalMs,
    sendHighWaterMarkBytes: limits.sendHighWaterMarkBytes,
    maxUnsentBytes: limits.maxUnsentBytes,
    maxConnectionMemoryBytes: limits.maxConnectionMemoryBytes,
    upgradeTimeoutMs: limits.upgradeTimeoutMs,
    logger,
  });
  /** Known once the TCP listener is bound; announced to the other instances. */
  const announced: { address?: string } = {};
  const operator = createOperatorHandler({
    address: () => announced.address,
    manager,
    activity,
    streamz,
    authenticator: auth.authenticator,
    trustLoopback: options.operator?.trustLoopback,
    historyIntervalMs: options.operator?.historyIntervalMs,
    historyWindowMs: options.operator?.historyWindowMs,
    logger,
  });
  const durableStreams = createDurableStreamsHandler({
    manager,
    authenticator,
    maxBodyBytes: limits.maxPayloadBytes,
    logger,
  });
  const probes = createProbeHandler(readiness);
  httpServer.on("request", (request, response) => {
    if (!durableStreams(request, response) && !operator(request, response)) probes(request, response);
  });
  let unixServer: NetServer | undefined;

  const shutdown = async (): Promise<void> => {
    phase = "stopping";
    const listenersClosed = Promise.all([closeServer(httpServer), ...(unixServer === undefined ? [] : [closeServer(unixServer)])]);
    httpServer.closeIdleConnections();
    await operator.close();
    await streamz.close(GOING_AWAY);
    await manager.close();
    await store.close();
    await dataDirLock?.release();
    httpServer.closeAllConnections();
    await listenersClosed;
    logger.info({}, "server stopped");
  };

  let bound: AddressInfo;
  try {
    bound = await listenTcp(httpServer, config.host, config.port);
    listening.tcp = `${bound.address}:${bound.port}`;
    if (config.unixSocket !== undefined) {
      unixServer = await listenUnixSocket(resolve(config.unixSocket), httpServer);
      listening.unixSocket = resolve(config.unixSocket);
    }
  } catch (error) {
    await shutdown();
    throw error;
  }
  phase = "ready";
  const host = `${dialableHost(bound)}:${bound.port}`;
  announced.address = `http://${host}`;
  logger.info({ url: `http://${host}`, address: listening.tcp, unixSocket: listening.unixSocket, store: config.store, bus: config.bus }, "listening");
  logger.info(
    { maxOpenStores: manager.openStores().maxOpenStores, descriptorLimit: descriptorLimit() ?? null, descriptorsPerStore: storeFactory.descriptorsPerStore ?? 0 },
    "open stores capped",
  );
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= shutdown());
  return {
    url: `http://${host}`,
    wsUrl: `ws://${host}`,
    unixSocket: listening.unixSocket,
    devToken: auth.devToken,
    config,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Scopes given as one setting: separated by commas or white space. */
function parseScopeList(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter((scope) => scope !== "");
}
