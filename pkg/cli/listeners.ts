import { chmod, lstat, unlink } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import { type AddressInfo, connect, createServer, type Server as NetServer, type Socket } from "node:net";
import { StreamsError } from "../api/index.js";

/** Bounds the probe of an existing socket file; a live server answers at once. */
const PROBE_TIMEOUT_MS = 2_000;
const SOCKET_MODE = 0o660;

/** Starts the TCP listener; rejects on EADDRINUSE and the like. */
export function listenTcp(server: HttpServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => reject(new StreamsError("unavailable", `cannot listen on ${host}:${port}: ${error.message}`, { cause: error }));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Whether a server accepts connections on the socket file at `path`. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.setTimeout(PROBE_TIMEOUT_MS);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("timeout", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** Removes a socket file left by a process that died; refuses to touch anything else. */
async function removeStaleSocket(path: string): Promise<void> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (stats === undefined) return;
  if (!stats.isSocket()) throw new StreamsError("invalid_argument", `unixSocket: ${path} exists and is not a socket`);
  if (await socketIsLive(path)) throw new StreamsError("unavailable", `unixSocket: another server is listening on ${path}`);
  await unlink(path);
}

/**
 * Listens on a unix socket (mode 0660) and hands every connection to `httpServer`, so one HTTP
 * server, with its WebSocket endpoint, serves both listeners. Closing the returned server removes
 * the socket file.
 */
export async function listenUnixSocket(path: string, httpServer: HttpServer): Promise<NetServer> {
  await removeStaleSocket(path);
  const server = createServer((socket: Socket) => httpServer.emit("connection", socket));
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error): void => reject(new StreamsError("unavailable", `cannot listen on ${path}: ${error.message}`, { cause: error }));
    server.once("error", fail);
    server.listen(path, () => {
      server.off("error", fail);
      resolve();
    });
  });
  try {
    await chmod(path, SOCKET_MODE);
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  return server;
}

/** Stops accepting; resolves once every connection the server counts has ended. */
export function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}
