import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface PageRoutes {
  /** The page. */
  html: string;
  /** The SDK as an ES module, served at /streamkit.js. */
  sdk: string;
  /** What the page needs to know, served as JSON at /config. */
  config: { wsUrl: string; storeId: string; space: string };
  /** Mints the token the page's SDK asks for at /token. */
  token(): Promise<string>;
}

export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Your web app's server: the page, the SDK bundle, the page's settings and a token endpoint. */
export async function servePage(routes: PageRoutes, port: number): Promise<PageServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const send = (contentType: string, body: string) =>
      response.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(body);
    if (request.method !== "GET") response.writeHead(405).end();
    else if (path === "/") send("text/html; charset=utf-8", routes.html);
    else if (path === "/streamkit.js") send("text/javascript; charset=utf-8", routes.sdk);
    else if (path === "/config") send("application/json", JSON.stringify(routes.config));
    // In a real app: check the user's session first, and mint only the scopes that user may have.
    else if (path === "/token") routes.token().then((token) => send("text/plain", token), () => response.writeHead(500).end());
    else response.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${boundPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
