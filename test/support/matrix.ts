import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import type { StoreFactory } from "../../store/types.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";

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
}

/** A NodeManager over `storeFactory`, reached in-process; `release` frees what the factory holds. */
async function inProcHarness(storeFactory: StoreFactory, release: () => Promise<void>): Promise<Harness> {
  const manager = createNodeManager({ storeFactory, idleEviction: false });
  const clients: StreamsClient[] = [];
  const connect = () => {
    const client = createClient(createInProcProvider(manager));
    clients.push(client);
    return client;
  };
  return {
    client: connect(),
    connect,
    newStoreId: () => crypto.randomUUID(),
    async teardown() {
      await Promise.all(clients.map((client) => client.close()));
      await manager.close();
      await storeFactory.close?.();
      await release();
    },
  };
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

/** Every configuration the integration suite runs against (`describe.each(configurations)`). */
export const configurations: Configuration[] = [inProcMemory, inProcLevel];
