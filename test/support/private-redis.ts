import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bounded } from "./waits.js";

/** Why tests needing a private redis-server cannot run here, or undefined when they can. */
export const privateRedisSkipReason: string | undefined =
  spawnSync("redis-server", ["--version"]).error !== undefined ? "the redis-server binary is not on PATH" : undefined;

/**
 * A redis-server of a test's own, which the test kills and restarts. It listens only on a unix
 * socket in a private temp dir, so test files running in parallel can never take each other's
 * server (a TCP port freed by a kill could be picked up by another file's "free port").
 */
export class PrivateRedis implements AsyncDisposable {
  readonly #dir = mkdtempSync(join(tmpdir(), "streamkit-redis-"));
  readonly socketPath = join(this.#dir, "redis.sock");
  #process: ChildProcess | undefined;

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const args = ["--port", "0", "--unixsocket", this.socketPath, "--save", "", "--appendonly", "no", "--dir", this.#dir];
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#process = child;
    let output = "";
    const ready = new Promise<void>((resolve, reject) => {
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (/ready to accept connections/i.test(output)) resolve();
      };
      child.stdout?.on("data", collect);
      child.stderr?.on("data", collect);
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
      child.once("error", reject);
    });
    await bounded(ready, "redis-server start");
  }

  /** SIGKILL, as a crash: no goodbye to the clients. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await bounded(exited, "redis-server exit");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
