import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createJwtAuthenticator } from "../../pkg/server/auth/index.js";
import { createNodeManager, type NodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { attachStreamz, type StreamzServer } from "../../transport/ws/index.js";

export interface UpgradeRecord {
  url: string | undefined;
  headers: IncomingHttpHeaders;
}

export interface BrowserTestServer {
  /** e.g. `ws://127.0.0.1:41234`; the client provider appends `/streamz`. */
  readonly wsUrl: string;
  readonly manager: NodeManager;
  readonly streamz: StreamzServer;
  /** Every WebSocket upgrade request the server saw, in order, as it arrived (before authentication). */
  readonly upgrades: UpgradeRecord[];
  close(): Promise<void>;
}

/**
 * A real Streamkit server on 127.0.0.1 (memory stores, JWT auth with `secret`) whose upgrade
 * requests are recorded, so a test can check how a client carried its token.
 */
export async function startBrowserTestServer(secret: string): Promise<BrowserTestServer> {
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory() });
  const httpServer: Server = createServer((_request, response) => response.writeHead(404).end());
  const upgrades: UpgradeRecord[] = [];
  httpServer.prependListener("upgrade", (request: { url?: string; headers: IncomingHttpHeaders }) => {
    upgrades.push({ url: request.url, headers: { ...request.headers } });
  });
  const streamz = attachStreamz(httpServer, { manager, authenticator: createJwtAuthenticator({ secrets: secret }) });
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    manager,
    streamz,
    upgrades,
    async close() {
      await streamz.close();
      await manager.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
