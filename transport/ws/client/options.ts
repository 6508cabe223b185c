import type { Logger } from "../../../pkg/api/logger.js";
import { silentLogger } from "../../../pkg/api/logger.js";
import { checkRetryPolicy, type RetryPolicy, type StreamsError } from "../../../pkg/api/internal/index.js";
import { type AddressSource, checkAddressSource } from "./addresses.js";
import type { BrowserLikeSocket } from "./socket.js";

/** A bearer token, or a callback that fetches a fresh one (called on every dial and every refresh). */
export type TokenSource = string | (() => string | Promise<string>);


/** The browser WebSocket constructor shape: a URL and subprotocols, nothing else. */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): BrowserLikeSocket;
}

export interface WsProviderOptions {
  token?: TokenSource;
  /** A WebSocket constructor used instead of the default; the token then travels as a subprotocol. */
  WebSocket?: WebSocketConstructor;
  retry?: Partial<RetryPolicy>;
  /** Time allowed for one dial, token fetch included; past it the next address is tried. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Longest a call waits for a connection (over every dial and backoff) before it fails with
   * `unavailable`, nothing of it sent. Default 30 s; `Infinity` waits until the call is aborted.
   */
  connectDeadlineMs?: number;
  /** Dial several addresses in a random order (default), so clients spread over the servers; false keeps the given order. */
  randomize?: boolean;
  /** Called after each failed dial with its error, the failed dials in a row (1-based) and the address dialed (undefined when the urls function failed). */
  onDialFailure?: (error: StreamsError, attempt: number, url: string | undefined) => void;
  /** Fraction of a token's lifetime after which it is refreshed in band. Default 0.8. */
  refreshAt?: number;
  /** Largest frame sent or accepted. Default 8 MiB. */
  maxFrameBytes?: number;
  logger?: Logger;
}

export interface ResolvedOptions {
  urls: AddressSource;
  randomize: boolean;
  token: TokenSource | undefined;
  WebSocket: WebSocketConstructor | undefined;
  retry: RetryPolicy;
  connectTimeoutMs: number;
  connectDeadlineMs: number;
  onDialFailure: ((error: StreamsError, attempt: number, url: string | undefined) => void) | undefined;
  refreshAt: number;
  maxFrameBytes: number;
  logger: Logger;
}

export const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** Longest delay a timer takes (setTimeout fires at once past it). */
const MAX_TIMER_MS = 2_147_483_647;

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  connectDeadlineMs: 30_000,
  refreshAt: 0.8,
  maxFrameBytes: 8 * 1024 * 1024,
  logger: silentLogger,
};

/** Merges options with defaults and checks them; programmer mistakes are TypeErrors. */
export function resolveOptions(urls: unknown, options: WsProviderOptions): ResolvedOptions {
  const source = checkAddressSource(urls);
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const { token, WebSocket, onDialFailure, randomize = true } = options;
  if (typeof randomize !== "boolean") throw new TypeError("randomize must be a boolean");
  if (token !== undefined && typeof token !== "string" && typeof token !== "function")
    throw new TypeError("token must be a string or a function returning one");
  if (WebSocket !== undefined && typeof WebSocket !== "function") throw new TypeError("WebSocket must be a constructor");
  if (onDialFailure !== undefined && typeof onDialFailure !== "function") throw new TypeError("onDialFailure must be a function");
  if (options.retry !== undefined && (typeof options.retry !== "object" || options.retry === null))
    throw new TypeError("retry must be an object");
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  checkRetryPolicy(retry, "retry");
  const merged = {
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    connectDeadlineMs: options.connectDeadlineMs ?? DEFAULTS.connectDeadlineMs,
    refreshAt: options.refreshAt ?? DEFAULTS.refreshAt,
    maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
    logger: options.logger ?? DEFAULTS.logger,
  };
  if (!Number.isSafeInteger(merged.connectTimeoutMs) || merged.connectTimeoutMs < 1)
    throw new TypeError("connectTimeoutMs must be an integer >= 1");
  const { connectDeadlineMs } = merged;
  if (connectDeadlineMs !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(connectDeadlineMs) || connectDeadlineMs < 1 || connectDeadlineMs > MAX_TIMER_MS))
    throw new TypeError(`connectDeadlineMs must be an integer in 1..${MAX_TIMER_MS} or Infinity`);
  const { refreshAt } = merged;
  if (typeof refreshAt !== "number" || !(refreshAt > 0 && refreshAt <= 1)) throw new TypeError("refreshAt must be a number in (0, 1]");
  if (!Number.isSafeInteger(merged.maxFrameBytes) || merged.maxFrameBytes < 1024) throw new TypeError("maxFrameBytes must be an integer >= 1024");
  const { logger } = merged;
  if (typeof logger !== "object" || logger === null || typeof logger.warn !== "function") throw new TypeError("logger must be a Logger");
  return { urls: source, randomize, token, WebSocket, onDialFailure, retry, ...merged };
}
