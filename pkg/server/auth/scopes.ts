import type { AuthResult, Authenticator } from "./types.js";
import { isValidStoreId } from "../../api/index.js";
import type { AuthPrincipal } from "./types.js";

const PREFIX = "streamkit::";
const ALL_STORES = "*";
const READ_SUFFIX = ":read";
export const ADMIN_SCOPE = `${PREFIX}admin`;

/** Scope strings of a claims set: `scope` (space-separated) and/or `scp` (array, or a string as some issuers send). */
export function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const scopes: string[] = [];
  for (const claim of [claims.scope, claims.scp]) {
    if (typeof claim === "string") scopes.push(...claim.split(/\s+/).filter((scope) => scope.length > 0));
    else if (Array.isArray(claim)) scopes.push(...claim.filter((scope): scope is string => typeof scope === "string"));
  }
  return scopes;
}

/**
 * A principal from `streamkit::*`, `streamkit::{storeId}`, their `:read` forms and `streamkit::admin`.
 * Other scopes are ignored: tokens often carry scopes of other services.
 */
export function principalFromScopes(scopes: Iterable<string>, subject?: string): AuthPrincipal {
  let readAll = false;
  let writeAll = false;
  let admin = false;
  const readable = new Set<string>();
  const writable = new Set<string>();
  for (const scope of scopes) {
    if (scope === ADMIN_SCOPE) {
      admin = true;
      continue;
    }
    if (!scope.startsWith(PREFIX)) continue;
    const readOnly = scope.endsWith(READ_SUFFIX);
    const target = scope.slice(PREFIX.length, readOnly ? -READ_SUFFIX.length : undefined);
    if (target === ALL_STORES) {
      readAll = true;
      if (!readOnly) writeAll = true;
    } else if (isValidStoreId(target)) {
      const storeId = target.toLowerCase();
      readable.add(storeId);
      if (!readOnly) writable.add(storeId);
    }
  }
  const can = (storeId: string, access: "read" | "write"): boolean => {
    const id = storeId.toLowerCase();
    return access === "read" ? readAll || readable.has(id) : writeAll || writable.has(id);
  };
  return { subject, admin, can };
}

/** `authenticator`, granting `scopes` to requests that carry no token (none: unchanged). */
export function withAnonymousScopes(authenticator: Authenticator, scopes: readonly string[]): Authenticator {
  if (scopes.length === 0) return authenticator;
  const anonymous: AuthResult = { principal: principalFromScopes(scopes, "anonymous") };
  return {
    authenticate: (token) => authenticator.authenticate(token),
    anonymous,
    ...(authenticator.clockToleranceSec !== undefined && { clockToleranceSec: authenticator.clockToleranceSec }),
  };
}
