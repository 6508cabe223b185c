import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformanceTests } from "@durable-streams/server-conformance-tests";
import { afterAll, beforeAll, describe, vi } from "vitest";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";
import { dropSchema, randomSchema } from "../support/pg-schema.js";
import { postgres, skipping } from "../support/services.js";

/**
 * The Durable Streams conformance suite against a real `streamkit serve` on PostgreSQL with the
 * PostgreSQL bus (docs/http.md): the HTTP gateway works on every backend.
 *
 * A long keep-alive: the suite checks 100,000 bytes one `expect` at a time, which can block its
 * process past the 5 s default while the server closes the idle connection its next request reuses.
 */
// The suite's long-poll cases wait out a server long-poll (10 s) and then write and read again; on two
// busy cores running the whole suite, 30 s per case proved too tight once.
vi.setConfig({ testTimeout: 60_000 });

const url = postgres.url;
const schema = randomSchema("sk_http");
let serve: ServeProcess | undefined;
let dataDir = "";
let baseUrl = "";

describe.skipIf(skipping(postgres, "the Durable Streams conformance suite on PostgreSQL"))("on PostgreSQL", () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "streamkit-ds-pg-"));
    serve = runCli([
      "serve",
      ...["--port", "0", "--data-dir", dataDir, "--log-pretty", "false", "--anonymous-scopes", "streamkit::*", "--keep-alive-timeout-ms", "60000"],
      ...["--store", "postgres", "--postgres-url", url ?? "", "--postgres-schema", schema, "--postgres-pool-max", "4", "--bus", "postgres"],
    ]);
    baseUrl = (await logEntry(serve, "listening")).url as string;
  }, 30_000);

  afterAll(async () => {
    serve?.child.kill("SIGTERM");
    await serve?.exit();
    await rm(dataDir, { recursive: true, force: true });
    if (url !== undefined) await dropSchema(url, schema);
  });

  runConformanceTests({
    get baseUrl() {
      return baseUrl;
    },
  });
});
