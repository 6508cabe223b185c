import type { StreamsError } from "../../../pkg/api/index.js";
import type { Authenticator } from "../../../pkg/server/auth/index.js";
import { type Logger, silentLogger } from "../../../pkg/api/logger.js";
import type { NodeManager } from "../../../pkg/server/types.js";
import { definedOnly, positiveInteger } from "../../../pkg/api/internal/options.js";

const MiB = 1024 * 1024;

export interface StreamzOptions {
  /** Routes each logical stream to its store's node. */
  manager: Pick<NodeManager, "handleStream">;
  /** Verifies bearer tokens. Absent: no auth, every stream allowed (for hosts that authenticate themselves). */
  authenticator?: Authenticator;
  /** URL path of the endpoint. Default "/streamz". */
  path?: string;
  /** Largest frame a stream may send; larger ones fail that stream with `resource_exhausted`. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Logical streams open at once on one connection. Default 256. */
  maxStreamsPerConnection?: number;
  /** Connections at once (including those authenticating); more are refused with HTTP 503. Default 10,000. */
  maxConnections?: number;
  /** WebSocket ping period; a peer that misses two pongs is dropped. Default 30 s. */
  pingIntervalMs?: number;
  /**
   * Bytes written to a socket but not yet flushed at which data frames wait (every stream of the
   * connection) and the socket is no longer read until the peer drains below it. Default 1 MiB.
   */
  sendHighWaterMarkBytes?: number;
  /**
   * Unsent bytes past which the connection is closed (1008) rather than grow; at least
   * sendHighWaterMarkBytes + maxFrameBytes. Default 16 MiB.
   */
  maxUnsentBytes?: number;
  /**
   * Memory one connection may hold on the server: client frames not taken by their stream yet plus
   * what handlers reserve (spaces of a consume, batches committing). Past it the stream that asked
   * fails with `resource_exhausted` (transient). Default 64 MiB.
   */
  maxConnectionMemoryBytes?: number;
  /** Time an upgrade has to be authenticated and accepted; past it the request is refused with HTTP 503. Default 10 s. */
  upgradeTimeoutMs?: number;
  /** How long close() waits for peers to complete the close handshake before cutting them off. Default 5 s. */
  closeTimeoutMs?: number;
  logger?: Logger;
  /** Hears what the transport refuses itself (operator metrics: pass the server's ServerActivity). */
  observer?: StreamzObserver;
}

/** What the transport refuses before a node sees it: counted by the operator surface (docs/operations.md). */
export interface StreamzObserver {
  /** A stream refused at its open (scope, stream limit, memory budget); `op` from its first message. */
  streamRefused(storeId: string, error: StreamsError, op?: string): void;
  /** An upgrade refused with `status`; `reason` is one of a few fixed words (a bounded label). */
  upgradeRefused?(status: number, reason: string): void;
}

export interface ResolvedStreamzOptions extends Required<Omit<StreamzOptions, "authenticator" | "observer">> {
  authenticator: Authenticator | undefined;
  observer: StreamzObserver | undefined;
  /** Frames up to this size are read (and refused per stream when over maxFrameBytes); larger ones close the connection (1009). */
  hardFrameLimitBytes: number;
}

export const STREAMZ_DEFAULTS = {
  path: "/streamz",
  maxFrameBytes: 8 * MiB,
  maxStreamsPerConnection: 256,
  maxConnections: 10_000,
  pingIntervalMs: 30_000,
  sendHighWaterMarkBytes: MiB,
  maxUnsentBytes: 16 * MiB,
  maxConnectionMemoryBytes: 64 * MiB,
  upgradeTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
  logger: silentLogger,
} as const satisfies Omit<StreamzOptions, "manager" | "authenticator">;

/** Slack above maxFrameBytes within which an oversized frame is still read, so it can be refused on its own stream. */
const FRAME_SLACK_BYTES = MiB;

export function resolveStreamzOptions(options: StreamzOptions): ResolvedStreamzOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const merged = { ...STREAMZ_DEFAULTS, ...definedOnly(options) };
  if (typeof merged.manager?.handleStream !== "function") throw new TypeError("manager must have handleStream(storeId, stream)");
  const authenticator = options.authenticator;
  if (authenticator !== undefined && typeof authenticator.authenticate !== "function") {
    throw new TypeError("authenticator must have authenticate(token)");
  }
  if (typeof merged.path !== "string" || !merged.path.startsWith("/")) throw new TypeError("path must start with '/'");
  const logger = merged.logger;
  if (["debug", "info", "warn", "error"].some((level) => typeof logger[level as keyof Logger] !== "function")) {
    throw new TypeError("logger must have debug, info, warn and error");
  }
  const maxFrameBytes = positiveInteger(merged.maxFrameBytes, "maxFrameBytes");
  const sendHighWaterMarkBytes = positiveInteger(merged.sendHighWaterMarkBytes, "sendHighWaterMarkBytes");
  const maxUnsentBytes = positiveInteger(merged.maxUnsentBytes, "maxUnsentBytes");
  // A data frame is written while below the high-water mark: the close bound must leave room for one.
  if (maxUnsentBytes < sendHighWaterMarkBytes + maxFrameBytes) {
    throw new TypeError("maxUnsentBytes must be at least sendHighWaterMarkBytes + maxFrameBytes");
  }
  const observer = options.observer;
  if (observer !== undefined && typeof observer.streamRefused !== "function") throw new TypeError("observer must have streamRefused(storeId, error, op)");
  return {
    manager: merged.manager,
    authenticator,
    observer,
    path: merged.path,
    maxFrameBytes,
    hardFrameLimitBytes: maxFrameBytes + FRAME_SLACK_BYTES,
    maxStreamsPerConnection: positiveInteger(merged.maxStreamsPerConnection, "maxStreamsPerConnection"),
    maxConnections: positiveInteger(merged.maxConnections, "maxConnections"),
    pingIntervalMs: positiveInteger(merged.pingIntervalMs, "pingIntervalMs"),
    sendHighWaterMarkBytes,
    maxUnsentBytes,
    maxConnectionMemoryBytes: positiveInteger(merged.maxConnectionMemoryBytes, "maxConnectionMemoryBytes"),
    upgradeTimeoutMs: positiveInteger(merged.upgradeTimeoutMs, "upgradeTimeoutMs"),
    closeTimeoutMs: positiveInteger(merged.closeTimeoutMs, "closeTimeoutMs"),
    logger,
  };
}

/** Options given as `undefined` keep their default (config loaders pass unset keys that way). */