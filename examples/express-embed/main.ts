import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createClient, type Entry, type StreamsClient } from "streamkit-ts/client";
import { createJwtAuthenticator, createNodeManager, signToken } from "streamkit-ts/server";
import { createMemoryStoreFactory } from "streamkit-ts/store/memory";
import { createInProcProvider } from "streamkit-ts/transport/inproc";
import { attachStreamz, createWsProvider } from "streamkit-ts/transport/ws";
import { Changes, isCancelled, runExample, smoke, untilInterrupted, within } from "../shared/run.js";
import { createShopApp } from "./shop-app.js";

const SMOKE_ORDERS = [
  { item: "book", quantity: 2 },
  { item: "lamp", quantity: 1 },
  { item: "mug", quantity: 4 },
];

const decoder = new TextDecoder();

/** Prints every order entry of the store as it commits: history first, then live. Ends when `signal` aborts. */
async function followOrders(client: StreamsClient, storeId: string, signal: AbortSignal, onEntry: (entry: Entry) => void): Promise<void> {
  try {
    for await (const entry of client.consumeSpace(storeId, { space: "orders", offset: "", follow: true, signal })) onEntry(entry);
  } catch (error) {
    if (!isCancelled(error)) throw error;
  }
}

/** A customer of the shop: POSTs JSON, expects 201 and `{ orderId, sequence }`. */
async function post(url: string, body: object): Promise<{ orderId: string; sequence: number }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = (await response.json()) as { orderId: string; sequence: number };
  if (response.status !== 201) throw new Error(`POST ${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  console.log(`POST ${new URL(url).pathname} ${JSON.stringify(body)} → 201 ${answer.orderId} (sequence ${answer.sequence})`);
  return answer;
}

runExample(async () => {
  const secret = randomBytes(32).toString("base64url"); // in production: from your secret store
  const storeId = randomUUID();

  // Streamkit's side: a node manager over the stores (in memory here; createLevelStoreFactory({ dataDir })
  // keeps them on disk) and the app itself writing in-process: same stores, no socket, no token.
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory() });
  const writer = createClient(createInProcProvider(manager));

  // The existing app, listening as it always has; Streamkit takes only upgrades to GET /streamz.
  const server = createShopApp({ client: writer, storeId }).listen(Number(process.env.PORT ?? 0), "127.0.0.1");
  const streamz = attachStreamz(server, { manager, authenticator: createJwtAuthenticator({ secrets: secret }) });
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  console.log(`shop on ${baseUrl}: Express routes, and Streamkit at ws://127.0.0.1:${port}/streamz on the same server`);

  // A reader elsewhere (a dashboard, another service): over WebSocket, with a read-only token for this store.
  const token = await signToken({ secret, scopes: [`streamkit::${storeId}:read`], subject: "order-board", ttlSec: 3600 });
  const reader = createClient(createWsProvider(`ws://127.0.0.1:${port}`, { token }));
  const stopReading = new AbortController();
  const seen = new Set<string>();
  const changes = new Changes();
  const reading = followOrders(reader, storeId, stopReading.signal, (entry) => {
    console.log(`websocket reader: ${entry.segment} #${entry.sequence} ${decoder.decode(entry.payload)}`);
    seen.add(`${entry.segment}#${entry.sequence}`);
    changes.changed();
  });

  try {
    if (smoke) {
      const posted: string[] = [];
      for (const order of SMOKE_ORDERS) posted.push((await post(`${baseUrl}/orders`, order)).orderId);
      const paid = await post(`${baseUrl}/orders/${posted[0]}/payment`, {});
      const everyEntrySeen = () => posted.every((orderId) => seen.has(`${orderId}#1`)) && seen.has(`${paid.orderId}#${paid.sequence}`);
      await within(10_000, "the WebSocket reader to see every order", changes.until(everyEntrySeen));
      const history = (await (await fetch(`${baseUrl}/orders/${paid.orderId}`)).json()) as unknown;
      console.log(`GET /orders/${paid.orderId} → ${JSON.stringify(history)}`);
      const health = await fetch(`${baseUrl}/health`);
      if (!health.ok) throw new Error(`GET /health answered ${health.status}`);
      console.log(`read ${seen.size} entries of ${posted.length} orders back over WebSocket; the app's own routes still answer`);
    } else {
      console.log(`try: curl -X POST ${baseUrl}/orders -H 'content-type: application/json' -d '{"item":"book","quantity":2}'`);
      console.log("Ctrl-C to stop");
      await Promise.race([untilInterrupted(), reading]);
    }
  } finally {
    stopReading.abort();
    await reading;
    await reader.close();
    await writer.close();
    await streamz.close();
    await manager.close();
    server.closeAllConnections();
    server.close();
  }
});
