import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { logEntry, runCli, type ServeProcess } from "./child.js";

let dataDir: string;
const running = new Set<ServeProcess>();

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-lock-"));
});

afterEach(async () => {
  for (const serve of running) {
    if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL");
    await serve.exit();
  }
  running.clear();
  await rm(dataDir, { recursive: true, force: true });
});

function serve(): ServeProcess {
  const child = runCli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false"]);
  running.add(child);
  return child;
}

it("refuses to start on a LevelDB data directory another process serves, naming the directory; starts once it is free", async () => {
  const first = serve();
  await logEntry(first, "listening");

  const second = serve();
  const exit = await second.exit();
  expect(exit.code).toBe(1);
  expect(second.stderr()).toContain(`data directory ${dataDir} is in use by another process`);
  expect(second.stderr()).not.toContain('"msg":"listening"');

  // The OS lock goes with the process, even one killed without a goodbye.
  first.child.kill("SIGKILL");
  await first.exit();
  const third = serve();
  await logEntry(third, "listening");
});
