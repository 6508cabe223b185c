import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import type { BusFactory } from "../../bus/types.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, type StreamzServer } from "../../transport/ws/index.js";

/** An HTTP server on 127.0.0.1 that counts WebSocket upgrades; `changes` emits "change" on each. */
interface Listening {
  http: Server;
  url: string;
  sockets: Set<Socket>;
  upgrades: () => number;
  changes: EventEmitter;
}

async function listen(onUpgrade?: (socket: Socket) => void): Promise<Listening> {
  const http = createServer((_request, response) => response.writeHead(404).end());
  const sockets = new Set<Socket>();
  const changes = new EventEmitter();
  let upgrades = 0;
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // Registered before streamz's own listener, so every upgrade is counted, refused ones included.
  http.on("upgrade", (_request, socket: Socket) => {
    upgrades++;
    changes.emit("change");
    onUpgrade?.(socket);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return { http, url: `ws://127.0.0.1:${port}`, sockets, upgrades: () => upgrades, changes };
}

async function stop(listening: Listening): Promise<void> {
  for (const socket of listening.sockets) socket.destroy();
  await new Promise<void>((resolve) => listening.http.close(() => resolve()));
}

/** One server instance: a NodeManager behind its own HTTP server with /streamz on 127.0.0.1. */
export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly manager: StoreNodeManager;
  readonly streamz: StreamzServer;
  /** WebSocket upgrades this instance was asked for so far. */
  upgrades(): number;
  /** Emits "change" on each upgrade request. */
  readonly changes: EventEmitter;
  /** Cuts every TCP connection to this instance (a network fault); it keeps listening. Returns how many. */
  dropConnections(): number;
  /** Graceful stop: every client is told 1001 "going away", then the listener closes. */
  goAway(): Promise<void>;
  /** Crash: every TCP connection is cut and the port closes, with no close frame. */
  kill(): Promise<void>;
}

/** A server that refuses every WebSocket upgrade with 503 and counts them (a sick instance). */
export interface RefusingServer {
  readonly url: string;
  upgrades(): number;
  readonly changes: EventEmitter;
}

export interface Instances extends AsyncDisposable {
  readonly instances: Instance[];
  /** A client in the process of instance `index`: its streams never cross a connection. */
  local(index: number): StreamsClient;
  /** A refusing server, closed with the rest. */
  refusing(): Promise<RefusingServer>;
  /** The URL of a port nothing listens on (connections are refused). */
  deadUrl(): Promise<string>;
  close(): Promise<void>;
}

/**
 * `count` instances in this process over ONE store factory and one bus hub, as instances sharing
 * storage and a bus are: every instance serves the same data, and sees every other's commits.
 */
export async function startInstances(count: number, options: { storeFactory?: StoreFactory; busFactory?: BusFactory } = {}): Promise<Instances> {
  const storeFactory = options.storeFactory ?? createMemoryStoreFactory();
  const busFactory = options.busFactory ?? createMemoryBusFactory();
  const stops: (() => Promise<void>)[] = [];
  const clients: StreamsClient[] = [];
  const instances: Instance[] = [];
  for (let index = 0; index < count; index++) {
    const name = String.fromCharCode(97 + index);
    const listening = await listen();
    const manager = createNodeManager({ storeFactory, busFactory, nodeId: name, idleEviction: false });
    const streamz = attachStreamz(listening.http, { manager });
    let stopping: Promise<void> | undefined;
    const down = (graceful: boolean) =>
      (stopping ??= (async () => {
        if (graceful) await streamz.close();
        await stop(listening);
        await streamz.close();
        await manager.close();
      })());
    stops.push(() => down(true));
    instances.push({
      name,
      url: listening.url,
      manager,
      streamz,
      upgrades: listening.upgrades,
      changes: listening.changes,
      dropConnections() {
        const count = listening.sockets.size;
        for (const socket of listening.sockets) socket.destroy();
        return count;
      },
      goAway: () => down(true),
      kill: () => down(false),
    });
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all(clients.map((client) => client.close()));
      for (const stopOne of stops) await stopOne();
      await storeFactory.close?.();
    })());
  return {
    instances,
    local(index) {
      const instance = instances[index];
      if (instance === undefined) throw new TypeError(`no instance ${index}`);
      const client = createClient(createInProcProvider(instance.manager));
      clients.push(client);
      return client;
    },
    async refusing() {
      const listening = await listen((socket) => socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
      stops.push(() => stop(listening));
      return { url: listening.url, upgrades: listening.upgrades, changes: listening.changes };
    },
    async deadUrl() {
      const listening = await listen();
      await stop(listening);
      return listening.url;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
