import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { StreamsError } from "../../../pkg/api/index.js";
import type { AuthResult } from "../../../pkg/server/auth/index.js";
import type { ConnectionDirectory, ConnectionInfo } from "../../../pkg/server/operator/connections.js";
import { CloseCodes } from "../protocol.js";
import { Connection } from "./connection.js";
import { resolveStreamzOptions, type StreamzOptions } from "./options.js";
import { authenticateUpgrade, isEndpoint, refuseUpgrade, selectProtocol, unauthenticatedLabel } from "./upgrade.js";

export interface StreamzCloseOptions {
  /** WebSocket close code sent to every client. Default 1001 (going away: reconnect elsewhere). */
  code?: number;
  reason?: string;
}

export interface StreamzServer extends ConnectionDirectory, AsyncDisposable {
  /**
   * Stops accepting upgrades (they get HTTP 503), aborts every stream and closes every connection
   * with `code`. Idempotent; resolves once every socket has closed.
   */
  close(options?: StreamzCloseOptions): Promise<void>;
  /** The open connections, for the operator surface. */
  connections(): ConnectionInfo[];
  /**
   * Closes one connection (its streams end with `unavailable`; the client may reconnect). Default code
   * 4002 (closed by an operator). False when no open connection has that id.
   */
  closeConnection(id: string, options?: StreamzCloseOptions): boolean;
}

const isCloseCode = (code: number) => Number.isInteger(code) && (code === 1000 || code === 1001 || (code >= 3000 && code <= 4999));

/**
 * Serves logical streams over WebSocket at `options.path` of an existing HTTP(S) server. Clients
 * authenticate during the upgrade (HTTP 401 otherwise); upgrades on other paths are left to other handlers.
 */
export function attachStreamz(server: HttpServer | HttpsServer, options: StreamzOptions): StreamzServer {
  const config = resolveStreamzOptions(options);
  const { logger } = config;
  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: config.hardFrameLimitBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: selectProtocol,
  });
  const connections = new Set<Connection>();
  let authenticating = 0;
  let connectionCount = 0;
  let closing: Promise<void> | undefined;

  const pinger = setInterval(() => {
    for (const connection of connections) connection.heartbeat();
  }, config.pingIntervalMs);
  pinger.unref();

  /** Refuses an upgrade and counts it by a fixed reason word (a bounded metric label). */
  const refuse = (socket: Duplex, status: 401 | 503, reason: string, label: string): void => {
    config.observer?.upgradeRefused?.(status, label);
    refuseUpgrade(socket, status, reason);
  };

  const accept = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const onSocketError = () => socket.destroy();
    socket.on("error", onSocketError);
    if (closing !== undefined) return refuse(socket, 503, "server is shutting down", "shutting_down");
    if (connections.size + authenticating >= config.maxConnections) return refuse(socket, 503, "too many connections", "too_many_connections");
    let auth: AuthResult | undefined;
    authenticating++;
    // An authenticator that never answers (a JWKS endpoint that hangs) must not hold the socket forever.
    let upgradeTimer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (upgradeTimer = setTimeout(() => resolve("timeout"), config.upgradeTimeoutMs)));
    try {
      const outcome = await Promise.race([authenticateUpgrade(request, config.authenticator), timedOut]);
      if (outcome === "timeout") {
        logger.info({ remoteAddress: request.socket.remoteAddress }, "websocket upgrade timed out");
        return refuse(socket, 503, "upgrade timed out", "timeout");
      }
      auth = outcome;
    } catch (error) {
      const reason = StreamsError.from(error, "unauthenticated").message;
      logger.info({ remoteAddress: request.socket.remoteAddress, reason }, "websocket upgrade refused");
      return refuse(socket, 401, reason, unauthenticatedLabel(reason));
    } finally {
      clearTimeout(upgradeTimer);
      authenticating--;
    }
    if (closing !== undefined) return refuse(socket, 503, "server is shutting down", "shutting_down");
    if (socket.destroyed) return;
    socket.off("error", onSocketError);
    sockets.handleUpgrade(request, socket, head, (ws) => {
      const connection = new Connection(ws, { id: `c${++connectionCount}`, request, auth }, config);
      connections.add(connection);
      logger.debug({ connection: connection.id, subject: connection.principal?.subject }, "websocket connected");
      void connection.closed.then(() => {
        connections.delete(connection);
        logger.debug({ connection: connection.id }, "websocket closed");
      });
    });
  };

  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isEndpoint(request, config.path)) return;
    accept(request, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, "websocket upgrade failed");
      socket.destroy();
    });
  });

  const close = ({ code = 1001, reason = "going away" }: StreamzCloseOptions = {}): Promise<void> => {
    if (!isCloseCode(code)) throw new TypeError("code must be 1000, 1001 or in 3000..4999");
    if (typeof reason !== "string") throw new TypeError("reason must be a string");
    closing ??= (async () => {
      clearInterval(pinger);
      await Promise.all([...connections].map((connection) => connection.shutdown(code, reason, config.closeTimeoutMs)));
      sockets.close();
    })();
    return closing;
  };

  return {
    close,
    connections: () => [...connections].map((connection) => connection.info()),
    closeConnection(id: string, { code = CloseCodes.closedByOperator, reason = "closed by an operator" }: StreamzCloseOptions = {}): boolean {
      if (!isCloseCode(code)) throw new TypeError("code must be 1000, 1001 or in 3000..4999");
      if (typeof reason !== "string") throw new TypeError("reason must be a string");
      const connection = [...connections].find((candidate) => candidate.id === id);
      if (connection === undefined) return false;
      // A peer that never completes the close handshake is cut off after closeTimeoutMs.
      void connection.shutdown(code, reason, config.closeTimeoutMs);
      return true;
    },
    [Symbol.asyncDispose]: () => close(),
  };
}
