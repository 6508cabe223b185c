// A redis-server of a bench case's own (temp dir, loopback port), so its settings and data touch no
// one else's Redis on this shared machine.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrivateRedis {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server with `args` (beside port, bind and dir); a string says why it cannot run here. */
export async function startPrivateRedis(args: readonly string[]): Promise<PrivateRedis | string> {
  if (spawnSync("redis-server", ["--version"]).error !== undefined) return "redis-server is not on PATH";
  const dir = await mkdtemp(join(tmpdir(), "streamkit-bench-redis-"));
  const port = await freePort();
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const started = await new Promise<boolean>((resolve) => {
    let output = "";
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (/ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once("exit", () => resolve(false));
  });
  const stop = async () => {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };
  if (!started) {
    await stop();
    return "the private redis-server did not start";
  }
  return { port, pid: child.pid as number, stop };
}
