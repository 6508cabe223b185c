import type { Principal } from "../../api/index.js";

/** A principal built from a verified token. */
export interface AuthPrincipal extends Principal {
  /** Whether it may use the operator endpoints (`streamkit::admin`); absent means no. */
  readonly admin?: boolean;
}

export interface AuthResult {
  principal: AuthPrincipal;
  /** When the token expires, in milliseconds since epoch; absent when it never does. */
  expiresAt?: number;
}

/** Turns a bearer token into a principal; failures throw StreamsError kind `unauthenticated`. */
export interface Authenticator {
  authenticate(token: string): Promise<AuthResult>;
  /** What a request without a token gets (`serve --anonymous-scopes`); absent: such requests are refused. */
  readonly anonymous?: AuthResult;
  /** Leeway the authenticator grants on `exp`/`nbf`; transports close an expired connection this late. */
  readonly clockToleranceSec?: number;
}
