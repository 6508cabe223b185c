import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { StreamsError } from "../../../pkg/api/index.js";
import type { Authenticator, AuthResult } from "../../../pkg/server/auth/index.js";
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from "../protocol.js";

/** Whether an upgrade request is for the endpoint (query strings allowed); other paths belong to other handlers. */
export function isEndpoint(request: IncomingMessage, path: string): boolean {
  const url = request.url ?? "";
  const query = url.indexOf("?");
  return (query === -1 ? url : url.slice(0, query)) === path;
}

/** The token of an upgrade request: `Authorization: Bearer …`, else a `bearer.<jwt>` subprotocol (browsers). */
export function bearerTokenOf(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  if (match?.[1] !== undefined) return match[1];
  const protocols = request.headers["sec-websocket-protocol"];
  if (typeof protocols !== "string") return undefined;
  for (const entry of protocols.split(",")) {
    const protocol = entry.trim();
    if (protocol.startsWith(BEARER_PROTOCOL_PREFIX) && protocol.length > BEARER_PROTOCOL_PREFIX.length) {
      return protocol.slice(BEARER_PROTOCOL_PREFIX.length);
    }
  }
  return undefined;
}

/** ws's handleProtocols: select `streamkit.v1`; a `bearer.` entry is never selected, so the token is never echoed. */
export function selectProtocol(protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}

/** Authenticates an upgrade; undefined when the server runs without auth. Throws `unauthenticated`. */
export async function authenticateUpgrade(request: IncomingMessage, authenticator: Authenticator | undefined): Promise<AuthResult | undefined> {
  if (authenticator === undefined) return undefined;
  const token = bearerTokenOf(request);
  if (token === undefined) {
    if (authenticator.anonymous !== undefined) return authenticator.anonymous;
    throw new StreamsError("unauthenticated", "missing bearer token");
  }
  return authenticator.authenticate(token);
}

// Header-safe: printable ASCII without quotes or backslashes, bounded.
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e]|["\\]/g, " ").slice(0, 200);

/** Answers an upgrade with a plain HTTP error and destroys the socket once it is written. */
export function refuseUpgrade(socket: Duplex, status: 401 | 503, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${reason.replace(/[\r\n]+/g, " ").slice(0, 500)}\n`;
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  if (status === 401) headers.push(`WWW-Authenticate: Bearer realm="streamkit", error="invalid_token", error_description="${headerSafe(reason)}"`);
  socket.once("finish", () => socket.destroy());
  socket.end(`${headers.join("\r\n")}\r\n\r\n${body}`);
}

/** A 401's reason as one of a few fixed words: the message may carry a caller's text, a label must not. */
export function unauthenticatedLabel(reason: string): string {
  if (reason === "missing bearer token" || reason === "missing token") return "missing_token";
  if (reason === "token expired") return "token_expired";
  if (reason === "token has no expiry (exp)" || reason.startsWith("token lifetime")) return "token_lifetime";
  if (reason === "invalid signature") return "invalid_signature";
  return "invalid_token";
}
