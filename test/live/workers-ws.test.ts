import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, createNodeManager, signToken, type StoreNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, createWsProvider, type StreamzServer } from "../../transport/ws/index.js";
import { failureOf } from "../support/data.js";
import { ignore, InventoryRecorder, settle } from "./workers-recorder.js";
import { bounded } from "../support/waits.js";

const SECRET = "workers-ws-secret-of-at-least-32-bytes!";

/** A real server on 127.0.0.1 with JWT auth; clients over WebSocket with the scopes a test names. */
describe("worker presence over WebSocket", () => {
  let manager: StoreNodeManager;
  let http: Server;
  let streamz: StreamzServer;
  let url: string;
  const sockets = new Set<Socket>();
  const clients: StreamsClient[] = [];

  const connect = (scopes: string[]): StreamsClient => {
    const token = () => signToken({ secret: SECRET, scopes, subject: "workers-ws", ttlSec: 3600 });
    const client = createClient(createWsProvider(url, { token, retry: { initialDelayMs: 10, maxDelayMs: 100 } }));
    clients.push(client);
    return client;
  };
  /** A client inside the server process: unaffected when the test cuts the TCP connections. */
  const local = (): StreamsClient => {
    const client = createClient(createInProcProvider(manager));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    http = createServer((_request, response) => response.writeHead(404).end());
    http.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [SECRET] }) });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await streamz.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await manager.close();
  });

  it("a `:read` scope may observe workers but not register one", async () => {
    const storeId = crypto.randomUUID();
    const reader = connect([`streamkit::${storeId}:read`]);
    const writer = connect([`streamkit::${storeId}`]);
    const observer = new InventoryRecorder();
    await using _watch = await reader.subscribeWorkers(storeId, {}, observer.listener);
    await using _worker = await writer.subscribeWorkers(storeId, { workerId: "writer", metadata: { zone: "eu" } }, ignore);
    const seen = await observer.untilIds(["writer"]);
    expect(seen.workers[0]?.metadata).toEqual({ zone: "eu" });

    const refused = await failureOf(() => reader.subscribeWorkers(storeId, { workerId: "reader" }, ignore));
    expect(refused).toMatchObject({ kind: "permission_denied", code: "permanent" });
    // The refused registration never showed up, and the reader's observation carries on.
    await using _second = await reader.subscribeWorkers(storeId, {}, ignore);
    expect(observer.inventories.every((inventory) => inventory.workers.every((worker) => worker.workerId === "writer"))).toBe(true);
  });

  it("a token for another store may not even observe", async () => {
    const storeId = crypto.randomUUID();
    const outsider = connect([`streamkit::${crypto.randomUUID()}`]);
    expect(await failureOf(() => outsider.subscribeWorkers(storeId, {}, ignore))).toMatchObject({ kind: "permission_denied" });
  });

  it("after the connection drops, a worker registers again and an observer observes again", async () => {
    const storeId = crypto.randomUUID();
    const client = connect(["streamkit::*"]);
    const inside = new InventoryRecorder();
    await using _inside = await local().subscribeWorkers(storeId, {}, inside.listener);
    const own = new InventoryRecorder();
    const remote = new InventoryRecorder();
    const worker = await client.subscribeWorkers(storeId, { workerId: "resilient", metadata: { v: "1" } }, own.listener);
    const watch = await client.subscribeWorkers(storeId, {}, remote.listener);
    const first = await inside.untilIds(["resilient"]);
    await remote.untilIds(["resilient"]);
    const seenBefore = { own: own.inventories.length, remote: remote.inventories.length };

    const beforeDrop = inside.inventories.length;
    for (const socket of sockets) socket.destroy();
    // Its stream ended with the connection: it left at once, then registered again.
    await inside.untilSeen(beforeDrop, [], "the worker to leave");
    const again = await inside.untilIds(["resilient"]);
    expect(again.workers[0]?.metadata).toEqual({ v: "1" });
    expect(again.workers[0]!.since).toBeGreaterThanOrEqual(first.workers[0]!.since);

    await own.until(() => own.inventories.length > seenBefore.own, "the worker's inventory after re-registering");
    await remote.until(() => remote.inventories.length > seenBefore.remote, "the observer's inventory after observing again");
    await settle();
    expect(worker.state).toMatchObject({ status: "connected", reconnects: 1 });
    expect(watch.state).toMatchObject({ status: "connected", reconnects: 1 });
    expect(client.state.reconnects).toBe(1);

    await worker.unsubscribe();
    await watch.unsubscribe();
    await inside.untilIds([]);
    expect(await bounded(worker.closed, "the worker to close")).toBeUndefined();
  });

  it("a worker replaced through another connection ends cancelled and stays ended across a reconnect", async () => {
    const storeId = crypto.randomUUID();
    const inside = new InventoryRecorder();
    await using _inside = await local().subscribeWorkers(storeId, {}, inside.listener);
    const old = await connect(["streamkit::*"]).subscribeWorkers(storeId, { workerId: "w", metadata: { n: "old" } }, ignore);
    await using _newer = await connect(["streamkit::*"]).subscribeWorkers(storeId, { workerId: "w", metadata: { n: "new" } }, ignore);
    expect(await bounded(old.closed, "the replaced worker to end")).toMatchObject({ kind: "cancelled" });

    // A reconnect gives a resumable stream every chance to come back; a replaced one does not.
    const beforeDrop = inside.inventories.length;
    for (const socket of sockets) socket.destroy();
    await inside.untilSeen(beforeDrop, [], "the newer worker to leave");
    const back = await inside.untilIds(["w"]);
    expect(back.workers[0]?.metadata).toEqual({ n: "new" });
    expect(old.state).toMatchObject({ status: "closed", reconnects: 0 });
  });
});
