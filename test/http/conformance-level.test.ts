import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformanceTests } from "@durable-streams/server-conformance-tests";
import { afterAll, beforeAll, vi } from "vitest";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";

/**
 * The Durable Streams project's published conformance suite against a real `streamkit serve` on
 * LevelDB, with anonymous requests granted every store (docs/http.md).
 *
 * A long keep-alive: the suite checks 100,000 bytes one `expect` at a time, which can block its
 * process past the 5 s default while the server closes the idle connection its next request reuses.
 */
let serve: ServeProcess;
let dataDir: string;
let baseUrl = "";

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-ds-"));
  serve = runCli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false", "--anonymous-scopes", "streamkit::*", "--keep-alive-timeout-ms", "60000"]);
  baseUrl = (await logEntry(serve, "listening")).url as string;
}, 30_000);

afterAll(async () => {
  serve.child.kill("SIGTERM");
  await serve.exit();
  await rm(dataDir, { recursive: true, force: true });
});

// The suite's long-poll cases wait out a server long-poll (10 s) and then write and read again; on two
// busy cores running the whole suite, 30 s per case proved too tight once.
vi.setConfig({ testTimeout: 60_000 });

runConformanceTests({
  get baseUrl() {
    return baseUrl;
  },
});
