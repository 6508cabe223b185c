import type { IncomingMessage } from "node:http";
import { StreamsError } from "../../api/index.js";
import type { Authenticator, AuthPrincipal } from "../auth/index.js";

export interface AdminAccess {
  /** Verifies bearer tokens; absent: only local requests may use admin endpoints. */
  authenticator: Authenticator | undefined;
  /** Whether local requests (loopback, unix socket) need no token. */
  trustLoopback: boolean;
  isLocalRequest(request: IncomingMessage): boolean;
}

const isLoopbackAddress = (address: string): boolean =>
  address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");

/** Whether a Host header names this machine's loopback (so a page on another name cannot ride on loopback trust). */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return name === "localhost" || name.endsWith(".localhost") || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * A request from this machine: over the unix socket (no remote address), or over loopback to a
 * loopback host name. A request carrying proxy headers came through a proxy, whoever sent it, and
 * a loopback connection to another host name is what a DNS-rebinding page would make.
 */
export function isLocalRequest(request: IncomingMessage): boolean {
  if (request.headers["x-forwarded-for"] !== undefined || request.headers.forwarded !== undefined) return false;
  const address = request.socket.remoteAddress;
  if (address === undefined) return true;
  return isLoopbackAddress(address) && isLoopbackHost(request.headers.host);
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // "null" (opaque origins) and anything malformed
  }
}

/** Browsers mark cross-site requests; an admin action never comes from another site's page (CSRF). */
function refuseCrossSite(request: IncomingMessage): void {
  const site = request.headers["sec-fetch-site"];
  const origin = request.headers.origin;
  const crossOrigin = origin !== undefined && hostOf(origin) !== request.headers.host;
  if (site === "cross-site" || site === "same-site" || crossOrigin) {
    throw new StreamsError("permission_denied", "admin endpoints refuse requests from other sites' pages");
  }
}

function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  return match?.[1];
}

/**
 * Lets an admin request through or throws: `unauthenticated` (401) without a valid token,
 * `permission_denied` (403) for a token without `streamkit::admin` or a cross-site request.
 * Resolves to who acted, for the log.
 */
export async function authorizeAdmin(request: IncomingMessage, access: AdminAccess): Promise<string> {
  refuseCrossSite(request);
  if (access.trustLoopback && access.isLocalRequest(request)) return "local";
  const token = bearerToken(request);
  if (token === undefined) {
    throw new StreamsError("unauthenticated", "admin endpoints need a bearer token with the streamkit::admin scope");
  }
  if (access.authenticator === undefined) {
    throw new StreamsError("permission_denied", "this server verifies no tokens: admin endpoints are open to local requests only");
  }
  let principal: AuthPrincipal;
  try {
    ({ principal } = await access.authenticator.authenticate(token));
  } catch (error) {
    throw StreamsError.from(error, "unauthenticated");
  }
  if (principal.admin !== true) throw new StreamsError("permission_denied", "the token lacks the streamkit::admin scope");
  return principal.subject ?? "admin";
}
