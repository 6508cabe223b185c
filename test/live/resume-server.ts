import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, createWsProvider, type StreamzServer } from "../../transport/ws/index.js";

/** A real server on 127.0.0.1 whose WebSocket connections a test can cut, and clients of it. */
export interface LiveServer {
  manager: StoreNodeManager;
  streamz: StreamzServer;
  port: number;
  /** A client over WebSocket that redials quickly (closed by `close`). */
  connect(): StreamsClient;
  /** A client in the same process: its streams never cross a connection, so cuts do not touch it. */
  local(): StreamsClient;
  /** Destroys the TCP socket of every open WebSocket connection, as a network failure would; returns how many. */
  dropConnections(): number;
  close(): Promise<void>;
}

export async function startLiveServer(options: { storeFactory?: StoreFactory; port?: number } = {}): Promise<LiveServer> {
  const http: Server = createServer((_request, response) => response.writeHead(404).end());
  const sockets = new Set<Socket>();
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const manager = createNodeManager({ storeFactory: options.storeFactory ?? createMemoryStoreFactory(), idleEviction: false });
  const streamz = attachStreamz(http, { manager });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  const clients: StreamsClient[] = [];
  const keep = (client: StreamsClient): StreamsClient => {
    clients.push(client);
    return client;
  };
  let closing: Promise<void> | undefined;
  return {
    manager,
    streamz,
    port,
    connect: () => keep(createClient(createWsProvider(`ws://127.0.0.1:${port}`, { retry: { initialDelayMs: 5, maxDelayMs: 50 } }))),
    local: () => keep(createClient(createInProcProvider(manager))),
    dropConnections() {
      const open = [...sockets];
      for (const socket of open) socket.destroy();
      return open.length;
    },
    close: () =>
      (closing ??= (async () => {
        await Promise.all(clients.map((client) => client.close()));
        await streamz.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        await manager.close();
      })()),
  };
}
