// Several real `streamkit serve` processes sharing one PostgreSQL schema and a Redis bus, with a
// WebSocket client each: what the multi-instance PostgreSQL cases measure through.
import { randomUUID } from "node:crypto";
import { createClient, type StreamsClient } from "../pkg/client/index.js";
import { signToken } from "../pkg/server/index.js";
import { createWsProvider } from "../transport/ws/index.js";
import { POSTGRES_URL, withPostgresSchema } from "./postgres.js";
import { type ServeChild, startServeChild } from "./serve-child.js";
import { BENCH_SECRET } from "./system.js";

const REDIS_URL = process.env.STREAMKIT_REDIS_URL || "redis://127.0.0.1:6379";

/** Runs `fn` with one client per instance, in the instances' order; stops everything afterwards. */
export async function withServeCluster(instances: number, fn: (clients: StreamsClient[]) => Promise<void>): Promise<void> {
  await withPostgresSchema(async (schema) => {
    const servers: ServeChild[] = [];
    const clients: StreamsClient[] = [];
    try {
      const args = ["--store", "postgres", "--postgres-url", POSTGRES_URL, "--postgres-schema", schema, "--postgres-pool-max", "8"];
      const bus = ["--bus", "redis", "--redis-url", REDIS_URL, "--bus-channel-prefix", `bench:${randomUUID()}:`];
      // One at a time: the first migrates the schema.
      for (let i = 0; i < instances; i++) servers.push(await startServeChild([...args, ...bus]));
      const token = () => signToken({ secret: BENCH_SECRET, scopes: ["streamkit::*"], subject: "bench", ttlSec: 3600 });
      for (const server of servers) clients.push(createClient(createWsProvider(server.url, { token })));
      await fn(clients);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
}
