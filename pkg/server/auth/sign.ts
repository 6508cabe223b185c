import { SignJWT } from "jose";
import { type KeyMaterial, secretBytes } from "./options.js";

export interface SignTokenOptions {
  /** HMAC secret (at least 32 bytes; strings are taken as UTF-8). */
  secret: KeyMaterial;
  /** Scopes, written space-separated to the `scope` claim. */
  scopes: readonly string[];
  subject?: string;
  /** Lifetime in seconds (a positive integer). */
  ttlSec: number;
  issuer?: string;
  audience?: string | readonly string[];
}

/** Mints an HS256 token: dev tokens printed by `streamkit serve`, tests, trusted back ends. */
export async function signToken(options: SignTokenOptions): Promise<string> {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const { scopes, subject, ttlSec, issuer, audience } = options;
  const secret = secretBytes(options.secret);
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== "string" || scope.length === 0 || /\s/.test(scope))) {
    throw new TypeError("scopes must be an array of non-empty strings without whitespace");
  }
  if (!Number.isSafeInteger(ttlSec) || ttlSec < 1) throw new TypeError("ttlSec must be a positive integer");
  if (subject !== undefined && typeof subject !== "string") throw new TypeError("subject must be a string");
  if (issuer !== undefined && typeof issuer !== "string") throw new TypeError("issuer must be a string");
  const nowSec = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ scope: scopes.join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + ttlSec);
  if (subject !== undefined) jwt.setSubject(subject);
  if (issuer !== undefined) jwt.setIssuer(issuer);
  if (audience !== undefined) jwt.setAudience(typeof audience === "string" ? audience : [...audience]);
  return jwt.sign(secret);
}
