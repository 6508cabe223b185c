import { checkLogger, definedOnly, positiveInteger, requireObject } from "../../pkg/api/internal/index.js";
import { type Logger, silentLogger } from "../../pkg/api/logger.js";

export interface RedisBusOptions {
  /** `redis://` or `rediss://` URL of the Redis server, or `unix:///path/to/redis.sock`. */
  url: string;
  /** Prepended to every route to make the Redis channel, so several deployments can share one Redis. Default `"streamkit:"`. */
  channelPrefix?: string;
  /** Publishes waiting for Redis's reply beyond which a publish is dropped (and counted). Default 10,000. */
  maxQueue?: number;
  /** Longest wait between reconnection attempts; attempts back off exponentially up to it. Default 2,000 ms. */
  maxReconnectDelayMs?: number;
  /** How long `subscribe` waits for Redis to acknowledge before resolving anyway (see RedisBus.subscribe). Default 5,000 ms. */
  subscribeTimeoutMs?: number;
  /** How long `close` waits for a graceful QUIT before cutting the connections. Default 1,000 ms. */
  closeTimeoutMs?: number;
  logger?: Logger;
}

export type ResolvedRedisBusOptions = Required<RedisBusOptions>;

const DEFAULTS: Omit<ResolvedRedisBusOptions, "url"> = {
  channelPrefix: "streamkit:",
  maxQueue: 10_000,
  maxReconnectDelayMs: 2_000,
  subscribeTimeoutMs: 5_000,
  closeTimeoutMs: 1_000,
  logger: silentLogger,
};

/** Merges `options` over the defaults and checks every field. */
export function resolveRedisBusOptions(options: RedisBusOptions): ResolvedRedisBusOptions {
  requireObject(options, "options");
  const resolved: ResolvedRedisBusOptions = { ...DEFAULTS, ...definedOnly(options), url: options.url };
  if (typeof resolved.url !== "string" || !/^(rediss?:\/\/|unix:\/\/\/)/.test(resolved.url)) {
    throw new TypeError("url must be a redis:// or rediss:// URL, or unix:///path/to/socket");
  }
  if (typeof resolved.channelPrefix !== "string") throw new TypeError("channelPrefix must be a string");
  positiveInteger(resolved.maxQueue, "maxQueue");
  positiveInteger(resolved.maxReconnectDelayMs, "maxReconnectDelayMs");
  positiveInteger(resolved.subscribeTimeoutMs, "subscribeTimeoutMs");
  positiveInteger(resolved.closeTimeoutMs, "closeTimeoutMs");
  checkLogger(resolved.logger, silentLogger);
  return resolved;
}
