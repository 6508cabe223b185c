import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformanceTests } from "@durable-streams/server-conformance-tests";
import { afterAll, beforeAll } from "vitest";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";

/**
 * The Durable Streams project's published conformance suite against a real `streamkit serve` on
 * LevelDB, with anonymous requests granted every store (docs/http.md).
 */
let serve: ServeProcess;
let dataDir: string;
let baseUrl = "";

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-ds-"));
  serve = runCli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false", "--anonymous-scopes", "streamkit::*"]);
  baseUrl = (await logEntry(serve, "listening")).url as string;
}, 30_000);

afterAll(async () => {
  serve.child.kill("SIGTERM");
  await serve.exit();
  await rm(dataDir, { recursive: true, force: true });
});

runConformanceTests({
  get baseUrl() {
    return baseUrl;
  },
});
