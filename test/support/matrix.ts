import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Provider } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { attachStreamz, createWsProvider } from "../../transport/ws/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createServer, type Server } from "node:http";
import { createRedisBusFactory } from "../../bus/redis/index.js";
import { createPostgresStoreFactory } from "../../store/postgres/index.js";
import { dropSchema, randomSchema } from "./pg-schema.js";
import { postgres, redis } from "./services.js";
import type { AddressInfo } from "node:net";

/** One running system the integration tests drive through the public SDK. */
export interface Harness {
  client: StreamsClient;
  /** Another client with its own connection to the same servers (closed by teardown). */
  connect: () => StreamsClient;
  /** A fresh store id, so tests sharing a harness never see each other's data. */
  newStoreId: () => string;
  teardown: () => Promise<void>;
}

export interface Configuration {
  name: string;
  setup: () => Promise<Harness>;
  /** Lease expiry follows the database's clock, which a test's fake timers do not move. */
  databaseClock?: boolean;
}

/** A harness whose clients come from `provider()`; teardown closes them, then runs `stop`. */
function harness(provider: () => Provider, stop: () => Promise<void>): Harness {
  const clients: StreamsClient[] = [];
  const connect = () => {
    const client = createClient(provider());
    clients.push(client);
    return client;
  };
  return {
    client: connect(),
    connect,
    newStoreId: () => crypto.randomUUID(),
    async teardown() {
      await Promise.all(clients.map((client) => client.close()));
      await stop();
    },
  };
}

/** A NodeManager over `storeFactory`, reached in-process; `release` frees what the factory holds. */
async function inProcHarness(storeFactory: StoreFactory, release: () => Promise<void>): Promise<Harness> {
  const manager = createNodeManager({ storeFactory, idleEviction: false, retention: false });
  return harness(
    () => createInProcProvider(manager),
    async () => {
      await manager.close();
      await storeFactory.close?.();
      await release();
    },
  );
}

const inProcMemory: Configuration = {
  name: "inproc+memory",
  setup: () => inProcHarness(createMemoryStoreFactory(), async () => undefined),
};

const inProcLevel: Configuration = {
  name: "inproc+level",
  async setup() {
    const dataDir = await mkdtemp(join(tmpdir(), "streamkit-it-"));
    return inProcHarness(createLevelStoreFactory({ dataDir }), () => rm(dataDir, { recursive: true, force: true }));
  },
};

/** A real server on 127.0.0.1 (HTTP + /streamz with JWT auth) over LevelDB, reached over WebSocket. */
const wsLevel: Configuration = {
  name: "ws+level",
  async setup() {
    const dataDir = await mkdtemp(join(tmpdir(), "streamkit-it-"));
    const storeFactory = createLevelStoreFactory({ dataDir });
    const manager = createNodeManager({ storeFactory, idleEviction: false, retention: false });
    const secret = "integration-secret-of-at-least-32-bytes!";
    const http = createServer((_request, response) => response.writeHead(404).end());
    const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [secret] }) });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    const token = () => signToken({ secret, scopes: ["streamkit::*"], subject: "integration", ttlSec: 3600 });
    return harness(
      () => createWsProvider(`ws://127.0.0.1:${port}`, { token }),
      async () => {
        await streamz.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        await manager.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    );
  },
};

/**
 * Two server instances on 127.0.0.1, each with its own NodeManager and PostgreSQL pool on one shared
 * schema, and a Redis bus between them: the harness's client talks to the first, and each further
 * client (`connect()`) to the other one in turn, so the second client of a case is on the other instance.
 */
const wsPostgresRedis: Configuration = {
  name: "ws+postgres+redis, two instances",
  databaseClock: true,
  async setup() {
    const postgresUrl = postgres.url ?? "";
    const schema = randomSchema("sk_matrix");
    const busFactory = createRedisBusFactory({ url: redis.url ?? "", channelPrefix: `streamkit-matrix:${crypto.randomUUID()}:` });
    const secret = "integration-secret-of-at-least-32-bytes!";
    const token = () => signToken({ secret, scopes: ["streamkit::*"], subject: "integration", ttlSec: 3600 });
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const storeFactory = createPostgresStoreFactory({ connectionString: postgresUrl, schema, pool: { max: 3 } });
        const manager = createNodeManager({ storeFactory, busFactory, idleEviction: false, retention: false });
        const http: Server = createServer((_request, response) => response.writeHead(404).end());
        const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [secret] }) });
        await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
        const { port } = http.address() as AddressInfo;
        const stop = async () => {
          await streamz.close();
          http.closeAllConnections();
          await new Promise<void>((resolve) => http.close(() => resolve()));
          await manager.close();
          await storeFactory.close();
        };
        return { url: `ws://127.0.0.1:${port}`, stop };
      }),
    );
    let next = 0;
    return harness(
      () => createWsProvider(instances[next++ % instances.length]!.url, { token }),
      async () => {
        await Promise.all(instances.map((instance) => instance.stop()));
        await dropSchema(postgresUrl, schema);
      },
    );
  },
};

/**
 * Every configuration the integration suite runs against (`describe.each(configurations)`). The
 * PostgreSQL + Redis one runs where both answer (test/support/services.ts says what is skipped, and
 * fails under CI when one is down).
 */
export const configurations: Configuration[] = [
  inProcMemory,
  inProcLevel,
  wsLevel,
  ...(postgres.url !== undefined && redis.url !== undefined ? [wsPostgresRedis] : []),
];

/** The configurations whose store implements the data lifecycle (docs/lifecycle.md): all of them. */
export const lifecycleConfigurations: Configuration[] = configurations;
