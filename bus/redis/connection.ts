import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../../pkg/api/logger.js";
import { settlesWithin } from "../bounded.js";

export type ConnectionRole = "publisher" | "subscriber";

export interface ConnectionOptions {
  url: string;
  role: ConnectionRole;
  maxReconnectDelayMs: number;
  logger: Logger;
}

/** First reconnection delay; each later attempt doubles it, up to `maxReconnectDelayMs`. */
const FIRST_RECONNECT_DELAY_MS = 50;

/**
 * One ioredis connection that reconnects by itself forever and never queues a command while it is
 * down: a command issued then fails at once, and one in flight when the connection drops fails as
 * soon as it closes, so the caller's bookkeeping (and memory) stays bounded. Errors are logged once
 * per outage.
 */
export function openConnection({ url, role, maxReconnectDelayMs, logger }: ConnectionOptions): Redis {
  const options: RedisOptions = {
    connectionName: `streamkit-bus-${role}`,
    retryStrategy: (attempt) => Math.min(maxReconnectDelayMs, FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(attempt - 1, 16)),
    enableOfflineQueue: false,
    // Reject in-flight commands when the connection closes rather than keeping them for a resend.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The bus re-subscribes itself, so that it knows when the subscriptions are back.
    autoResubscribe: false,
  };
  // ioredis parses redis:// and rediss:// URLs itself; a unix socket is given as a path.
  const redis = url.startsWith("unix://") ? new Redis({ ...options, path: url.slice("unix://".length) }) : new Redis(url, options);
  let wasReady = false;
  let errorLogged = false;
  redis.on("ready", () => {
    wasReady = true;
    errorLogged = false;
    logger.info({ role }, "redis bus connection ready");
  });
  redis.on("close", () => {
    if (!wasReady) return;
    wasReady = false;
    logger.warn({ role }, "redis bus connection lost; reconnecting");
  });
  redis.on("error", (error: Error) => {
    // ioredis reports every failed attempt; one line per outage is enough.
    if (errorLogged) {
      logger.debug({ role, err: error }, "redis bus connection error");
    } else {
      errorLogged = true;
      logger.warn({ role, err: error }, "redis bus connection error");
    }
  });
  return redis;
}

/** Quits gracefully when Redis answers within `timeoutMs`, then cuts the connection and stops reconnecting. */
export async function closeConnection(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") await settlesWithin(redis.quit(), timeoutMs);
  if (redis.status !== "end") redis.disconnect(false);
}
