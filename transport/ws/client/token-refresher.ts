import { decodeJwt } from "jose";
import { type ErrorInfo, StreamsError } from "../../../pkg/api/index.js";
import type { Logger } from "../../../pkg/api/logger.js";
import { startTimer } from "../../../pkg/api/internal/timer.js";

/** Failed refreshes retried before the token expires; each retry comes after half the time left. */
const MAX_RETRIES = 3;

interface TokenTimes {
  issuedAtMs: number;
  expiresAtMs: number;
}

/** `iat`/`exp` of a JWT, decoded without verification (the server verifies); undefined when it has no `exp`. */
function tokenTimes(token: string, nowMs: number): TokenTimes | undefined {
  try {
    const { exp, iat } = decodeJwt(token);
    if (typeof exp !== "number") return undefined;
    const issuedAtMs = typeof iat === "number" ? Math.min(iat * 1000, nowMs) : nowMs;
    return { issuedAtMs, expiresAtMs: exp * 1000 };
  } catch {
    return undefined;
  }
}

export interface RefresherOptions {
  fetchToken: () => Promise<string>;
  sendRefresh: (token: string) => void;
  /** Fraction of the token's lifetime after which it is refreshed. */
  refreshAt: number;
  logger: Logger;
}

/**
 * Keeps one connection's token fresh in band: at `refreshAt` of the token's lifetime it fetches a new
 * token and sends it in a `refresh` frame; the server answers with `refreshed`. A failure (fetch,
 * refusal, or no answer) is logged and retried a few times before the current token expires.
 */
export class TokenRefresher {
  readonly #options: RefresherOptions;
  #expiresAtMs = 0;
  #failures = 0;
  #cancelTimer: (() => void) | undefined;
  /** The token of the refresh in flight (one at a time), until the server answers. */
  #pendingToken: string | undefined;
  #stopped = false;

  constructor(options: RefresherOptions) {
    this.#options = options;
  }

  /** Schedules the first refresh for the token the connection was opened with. */
  start(token: string): void {
    this.#scheduleFor(token);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
  }

  /** The server's answer to our refresh. */
  onRefreshed(ok: boolean, error: ErrorInfo | undefined): void {
    const token = this.#pendingToken;
    if (this.#stopped || token === undefined) return;
    this.#pendingToken = undefined;
    this.#cancelTimer?.();
    if (ok) {
      this.#failures = 0;
      this.#options.logger.debug({}, "token refreshed");
      this.#scheduleFor(token);
    } else {
      this.#retryLater(error ? StreamsError.fromInfo(error) : new StreamsError("unauthenticated", "refresh refused"));
    }
  }

  #scheduleFor(token: string): void {
    const now = Date.now();
    const times = tokenTimes(token, now);
    if (!times) {
      this.#options.logger.debug({}, "token has no exp: no in-band refresh");
      return;
    }
    this.#expiresAtMs = times.expiresAtMs;
    const refreshAtMs = times.issuedAtMs + this.#options.refreshAt * (times.expiresAtMs - times.issuedAtMs);
    this.#schedule(refreshAtMs - now, () => void this.#refresh());
  }

  #schedule(delayMs: number, callback: () => void): void {
    this.#cancelTimer?.();
    if (this.#stopped) return;
    this.#cancelTimer = startTimer(callback, Math.max(0, delayMs), { unref: true });
  }

  async #refresh(): Promise<void> {
    let token: string;
    try {
      token = await this.#options.fetchToken();
    } catch (error) {
      return this.#retryLater(StreamsError.from(error, "unavailable"));
    }
    if (this.#stopped) return;
    this.#pendingToken = token;
    // No answer by the next retry point is a failure, retried at once (the wait already spaced it).
    this.#schedule(this.#retryDelay(), () => {
      this.#pendingToken = undefined;
      if (this.#mayRetry(new StreamsError("deadline_exceeded", "no answer to the token refresh"))) void this.#refresh();
    });
    this.#options.sendRefresh(token);
  }

  #retryDelay(): number {
    return (this.#expiresAtMs - Date.now()) / 2;
  }

  #retryLater(error: StreamsError): void {
    if (this.#mayRetry(error)) this.#schedule(this.#retryDelay(), () => void this.#refresh());
  }

  /** Logs a failed refresh; false once the retries are used up or the token has expired. */
  #mayRetry(error: StreamsError): boolean {
    if (this.#stopped) return false;
    this.#failures++;
    if (this.#failures > MAX_RETRIES || this.#expiresAtMs <= Date.now()) {
      this.#options.logger.error({ err: error, failures: this.#failures }, "token refresh failed; the connection ends when the token expires");
      return false;
    }
    this.#options.logger.warn({ err: error, failures: this.#failures }, "token refresh failed; retrying");
    return true;
  }
}
