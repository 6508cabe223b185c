import { type Principal, StreamsError } from "../../../pkg/api/index.js";
import type { Authenticator, AuthResult } from "../../../pkg/server/auth/index.js";

export type RefreshOutcome =
  | { ok: true; principal: Principal | undefined; expiresAt: number | undefined }
  | { ok: false; error: StreamsError };

// setTimeout fires at once beyond this delay (about 24.8 days), so longer waits are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A connection's credentials: the principal its streams see, replaced by in-band refreshes (applied
 * in the order they arrive), and a timer that calls `onExpired` once the token is past its expiry
 * plus the authenticator's clock tolerance.
 */
export class Credentials {
  readonly #authenticator: Authenticator | undefined;
  readonly #onExpired: () => void;
  #principal: Principal | undefined;
  #expiresAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshes: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(auth: AuthResult | undefined, authenticator: Authenticator | undefined, onExpired: () => void) {
    this.#authenticator = authenticator;
    this.#onExpired = onExpired;
    this.#principal = auth?.principal;
    this.#expiresAt = auth?.expiresAt;
    this.#schedule();
  }

  get principal(): Principal | undefined {
    return this.#principal;
  }

  /**
   * Verifies `token` once earlier refreshes are done; on success its principal and expiry apply at
   * once. Never rejects; resolves to undefined when the credentials were stopped meanwhile.
   */
  refresh(token: string): Promise<RefreshOutcome | undefined> {
    const outcome = this.#refreshes.then(() => this.#verify(token));
    this.#refreshes = outcome;
    return outcome;
  }

  /** The connection is going away: no more expiry, refreshes still pending resolve to undefined. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #verify(token: string): Promise<RefreshOutcome | undefined> {
    if (this.#stopped) return undefined;
    if (this.#authenticator === undefined) return { ok: true, principal: undefined, expiresAt: undefined };
    let result: AuthResult;
    try {
      result = await this.#authenticator.authenticate(token);
    } catch (error) {
      return this.#stopped ? undefined : { ok: false, error: StreamsError.from(error, "unauthenticated") };
    }
    if (this.#stopped) return undefined;
    this.#principal = result.principal;
    this.#expiresAt = result.expiresAt;
    this.#schedule();
    return { ok: true, principal: result.principal, expiresAt: result.expiresAt };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#expiresAt === undefined || this.#stopped) return;
    const deadline = this.#expiresAt + (this.#authenticator?.clockToleranceSec ?? 0) * 1000;
    this.#timer = setTimeout(
      () => (Date.now() < deadline ? this.#schedule() : this.#onExpired()),
      Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS),
    );
    this.#timer.unref();
  }
}
