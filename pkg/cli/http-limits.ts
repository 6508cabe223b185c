import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import type { LimitsConfig } from "./config/index.js";

/**
 * The serve command's HTTP server with every request bounded in time (docs/limits.md): headers
 * (upgrade requests too) within headersTimeoutMs, the whole request within requestTimeoutMs, an idle
 * kept-alive connection closed after keepAliveTimeoutMs. Node checks these periodically: the check
 * runs often enough that a half-open request is closed within about its timeout plus a second.
 */
export function createLimitedHttpServer(limits: LimitsConfig): HttpServer {
  return createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  });
}

/**
 * Upgrade requests for paths nobody serves get HTTP 404 and are closed: Node hands an upgrade's socket
 * to its listeners and never closes it itself, so an unanswered one would be held forever.
 */
export function refuseOtherUpgrades(server: HttpServer, servedPaths: readonly string[]): void {
  server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
    const url = request.url ?? "";
    const query = url.indexOf("?");
    if (servedPaths.includes(query === -1 ? url : url.slice(0, query))) return;
    socket.on("error", () => socket.destroy());
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    socket.once("finish", () => socket.destroy());
  });
}
