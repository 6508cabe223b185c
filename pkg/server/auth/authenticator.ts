import { decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from "jose";
import { StreamsError } from "../../api/index.js";
import { createKeyRing, type VerificationKey } from "./keys.js";
import { type JwtAuthOptions, resolveJwtAuthOptions } from "./options.js";
import { principalFromScopes, scopesOf } from "./scopes.js";
import type { Authenticator, AuthResult } from "./types.js";

/** Longer tokens are refused before any parsing. */
const MAX_TOKEN_CHARS = 64 * 1024;

const unauthenticated = (message: string, cause?: unknown) => new StreamsError("unauthenticated", message, { cause });

/** A short, stable reason for a jose failure (what a client sees in a 401 or a failed refresh). */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "token not yet valid";
    if (error.claim === "iss") return "wrong issuer";
    if (error.claim === "aud") return "wrong audience";
    return `invalid claim "${error.claim}"`;
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return "invalid signature";
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return "malformed token";
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return "key set unavailable";
  return "invalid token";
}

/** Whether another key may still verify the token (the signature did not match this one). */
const isKeyMismatch = (error: unknown) =>
  error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey;

function algorithmOf(token: string, allowed: readonly string[]): string {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (error) {
    throw unauthenticated("malformed token", error);
  }
  if (typeof alg !== "string") throw unauthenticated("malformed token");
  // "none" is never in `allowed`: unsecured tokens are refused here, before jose sees them.
  if (!allowed.includes(alg)) throw unauthenticated(`algorithm ${JSON.stringify(alg.slice(0, 32))} not allowed`);
  return alg;
}

function verify(token: string, key: VerificationKey, options: JWTVerifyOptions) {
  return typeof key === "function" ? jwtVerify(token, key, options) : jwtVerify(token, key, options);
}

/**
 * The lifetime rules of docs/limits.md, "Tokens": a token that never expires, or lives longer than
 * the maximum, is refused even when validly signed.
 */
function checkLifetime(payload: JWTPayload, options: { requireExp: boolean; maxTokenLifetimeSec: number; clockToleranceSec: number }): void {
  if (typeof payload.exp !== "number") {
    if (options.requireExp) throw unauthenticated("token has no expiry (exp)");
    return;
  }
  if (!Number.isFinite(options.maxTokenLifetimeSec)) return;
  const from = typeof payload.iat === "number" ? payload.iat : Date.now() / 1000;
  if (payload.exp - from > options.maxTokenLifetimeSec + options.clockToleranceSec) {
    throw unauthenticated(`token lifetime over the maximum of ${options.maxTokenLifetimeSec} s`);
  }
}

function resultOf(payload: JWTPayload): AuthResult {
  const principal = principalFromScopes(scopesOf(payload), typeof payload.sub === "string" ? payload.sub : undefined);
  return typeof payload.exp === "number" ? { principal, expiresAt: payload.exp * 1000 } : { principal };
}

/**
 * Verifies bearer JWTs with jose: HMAC secrets, PEM public keys or a JWKS URL; checks issuer,
 * audience, `exp` and `nbf` with a clock tolerance; restricts `alg` to what the key sources can verify;
 * refuses tokens without `exp` or living longer than `maxTokenLifetimeSec` (unless configured off).
 * Scopes become a Principal (see principalFromScopes).
 */
export function createJwtAuthenticator(options: JwtAuthOptions): Authenticator {
  const resolved = resolveJwtAuthOptions(options);
  const keys = createKeyRing(resolved);

  return {
    clockToleranceSec: resolved.clockToleranceSec,
    async authenticate(token: string): Promise<AuthResult> {
      if (typeof token !== "string" || token.length === 0) throw unauthenticated("missing token");
      if (token.length > MAX_TOKEN_CHARS) throw unauthenticated("token too large");
      const alg = algorithmOf(token, resolved.algorithms);
      const verifyOptions: JWTVerifyOptions = { algorithms: [alg], clockTolerance: resolved.clockToleranceSec };
      if (resolved.issuer !== undefined) verifyOptions.issuer = resolved.issuer;
      if (resolved.audience !== undefined) verifyOptions.audience = resolved.audience;
      let failure: unknown;
      for (const key of await keys.candidates(alg)) {
        let payload: JWTPayload;
        try {
          payload = (await verify(token, key, verifyOptions)).payload;
        } catch (error) {
          if (!isKeyMismatch(error)) throw unauthenticated(reasonOf(error), error);
          failure = error;
          continue;
        }
        checkLifetime(payload, resolved);
        return resultOf(payload);
      }
      if (failure === undefined) throw unauthenticated(`no configured key verifies ${alg} tokens`);
      throw unauthenticated(reasonOf(failure), failure);
    },
  };
}
