import { checkLogger, definedOnly, positiveInteger, requireObject } from "../../pkg/api/internal/index.js";
import { type Logger, silentLogger } from "../../pkg/api/logger.js";

export interface PostgresBusOptions {
  /** `postgres://user:password@host:port/database` of the PostgreSQL server the instances share. */
  connectionString: string;
  /**
   * Mixed into every route's channel name, so several deployments can share one database without
   * seeing each other's messages. Default `"streamkit"`.
   */
  channelPrefix?: string;
  /** Messages waiting to be sent or acknowledged beyond which a publish is dropped (and counted). Default 10,000. */
  maxQueue?: number;
  /** Longest wait between reconnection attempts; attempts back off exponentially up to it. Default 2,000 ms. */
  maxReconnectDelayMs?: number;
  /** How long one connection attempt may take before it counts as failed. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** How long `subscribe` waits for LISTEN to be acknowledged before resolving anyway. Default 5,000 ms. */
  subscribeTimeoutMs?: number;
  /** How long `close` waits for a graceful end of the connection before cutting it. Default 1,000 ms. */
  closeTimeoutMs?: number;
  logger?: Logger;
}

export type ResolvedPostgresBusOptions = Required<PostgresBusOptions>;

const DEFAULTS: Omit<ResolvedPostgresBusOptions, "connectionString"> = {
  channelPrefix: "streamkit",
  maxQueue: 10_000,
  maxReconnectDelayMs: 2_000,
  connectTimeoutMs: 5_000,
  subscribeTimeoutMs: 5_000,
  closeTimeoutMs: 1_000,
  logger: silentLogger,
};

/** Merges `options` over the defaults and checks every field. */
export function resolvePostgresBusOptions(options: PostgresBusOptions): ResolvedPostgresBusOptions {
  requireObject(options, "options");
  const resolved: ResolvedPostgresBusOptions = { ...DEFAULTS, ...definedOnly(options), connectionString: options.connectionString };
  if (typeof resolved.connectionString !== "string" || !/^postgres(ql)?:\/\//.test(resolved.connectionString)) {
    throw new TypeError("connectionString must be a postgres:// or postgresql:// URL");
  }
  if (typeof resolved.channelPrefix !== "string") throw new TypeError("channelPrefix must be a string");
  positiveInteger(resolved.maxQueue, "maxQueue");
  positiveInteger(resolved.maxReconnectDelayMs, "maxReconnectDelayMs");
  positiveInteger(resolved.connectTimeoutMs, "connectTimeoutMs");
  positiveInteger(resolved.subscribeTimeoutMs, "subscribeTimeoutMs");
  positiveInteger(resolved.closeTimeoutMs, "closeTimeoutMs");
  checkLogger(resolved.logger, silentLogger);
  return resolved;
}
