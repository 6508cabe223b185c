import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { BusFactory } from "../../bus/types.js";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, createNodeManager, type NodeManagerOptions, signToken, type StoreNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, createWsProvider, type StreamzServer, type WsProviderOptions } from "../../transport/ws/index.js";
import { redis } from "./services.js";

/** Redis for tests; absent: the Redis tests skip and say why. */
export const redisUrl: string | undefined = redis.url;

export type ClusterBus = "redis" | "memory";

export interface ClusterOptions {
  /** What carries notifications between the instances. Default: Redis when it answers, else memory. */
  bus?: ClusterBus;
  /** Makes each instance's bus instead (one call per instance); `bus` then only names it. */
  busFactory?: BusFactory;
  /** Shared by both instances. Default: one memory store factory. */
  storeFactory?: StoreFactory;
  /** More options for both node managers (storeFactory, busFactory and nodeId are the cluster's). */
  manager?: Omit<NodeManagerOptions, "storeFactory" | "busFactory" | "nodeId">;
}

/** One server instance: a NodeManager behind its own HTTP server with /streamz on 127.0.0.1. */
export interface ClusterInstance {
  readonly name: string;
  readonly manager: StoreNodeManager;
  /** `ws://127.0.0.1:<port>`. */
  readonly url: string;
  /** A token for every store on this cluster. */
  token(): Promise<string>;
  /** A client over WebSocket to this instance, with `token()` unless `options.token` says otherwise (closed by `cluster.close`). */
  connect(options?: WsProviderOptions): StreamsClient;
  /** A client through the in-process provider (closed by `cluster.close`). */
  connectInProc(): StreamsClient;
  /** Cuts every TCP connection to this instance at once (as a crash or a network fault would); returns how many. */
  dropConnections(): number;
}

/** Two server instances over one shared store factory, each with its own bus connection. */
export interface Cluster extends AsyncDisposable {
  readonly bus: ClusterBus;
  readonly instances: readonly [ClusterInstance, ClusterInstance];
  /** A fresh store id, so tests sharing a cluster never see each other's data. */
  newStoreId(): string;
  /** Idempotent. */
  close(): Promise<void>;
}

const SECRET = "cluster-secret-of-at-least-32-bytes!!";

function busFactoryFor(bus: ClusterBus): BusFactory {
  if (bus === "memory") return createMemoryBusFactory();
  if (redisUrl === undefined) throw new TypeError(`a Redis cluster needs Redis: ${redis.skipReason}`);
  // A prefix of its own, so clusters of concurrent test files on one Redis never hear each other.
  return createRedisBusFactory({ url: redisUrl, channelPrefix: `streamkit-test:${randomUUID()}:`, maxReconnectDelayMs: 200 });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

interface RunningInstance extends ClusterInstance {
  close(): Promise<void>;
}

async function startInstance(name: string, storeFactory: StoreFactory, busFactory: BusFactory, options: ClusterOptions): Promise<RunningInstance> {
  const manager = createNodeManager({ idleEviction: false, ...options.manager, storeFactory, busFactory, nodeId: name });
  const http = createServer((_request, response) => response.writeHead(404).end());
  const sockets = new Set<Socket>();
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const streamz: StreamzServer = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [SECRET] }) });
  const url = `ws://127.0.0.1:${await listen(http)}`;
  const token = () => signToken({ secret: SECRET, scopes: ["streamkit::*"], subject: `cluster-${name}`, ttlSec: 3600 });
  const clients: StreamsClient[] = [];
  const track = (client: StreamsClient): StreamsClient => {
    clients.push(client);
    return client;
  };
  return {
    name,
    manager,
    url,
    token,
    connect: (wsOptions = {}) => track(createClient(createWsProvider(url, { token, ...wsOptions }))),
    connectInProc: () => track(createClient(createInProcProvider(manager))),
    dropConnections() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
    async close() {
      await Promise.all(clients.map((client) => client.close()));
      await streamz.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await manager.close();
    },
  };
}

/**
 * Starts two server instances ("a" and "b") in this process over ONE store factory (so both serve the
 * same data, as instances sharing storage do) and one bus factory, each instance with its own bus.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const bus = options.bus ?? (redisUrl === undefined ? "memory" : "redis");
  const busFactory = options.busFactory ?? busFactoryFor(bus);
  const storeFactory = options.storeFactory ?? createMemoryStoreFactory();
  const a = await startInstance("a", storeFactory, busFactory, options);
  const b = await startInstance("b", storeFactory, busFactory, options).catch(async (error: unknown) => {
    await a.close();
    throw error;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.all([a.close(), b.close()]);
      await storeFactory.close?.();
    })();
    return closing;
  };
  return {
    bus,
    instances: [a, b],
    newStoreId: () => randomUUID(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
