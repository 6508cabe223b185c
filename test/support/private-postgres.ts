import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian installs a PostgreSQL's server programs, newest first. */
function serverBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => join(root, version, "bin")).find((dir) => existsSync(join(dir, "initdb")));
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

/**
 * A PostgreSQL server of a test's own (initdb in a temp dir, its own port on 127.0.0.1), so the test
 * can crash and restart it without touching the machine's shared one. PostgreSQL refuses to run as
 * root: as root it runs as the `postgres` user.
 */
export class PrivatePostgres implements AsyncDisposable {
  /** Why a private server cannot start here, or undefined when it can. */
  static readonly unavailableReason: string | undefined = (() => {
    if (serverBinDir() === undefined) return "no PostgreSQL server programs under /usr/lib/postgresql";
    if (userInfo().uid !== 0) return undefined;
    if (!/^postgres:/m.test(readFileSync("/etc/passwd", "utf8"))) return "running as root, and there is no postgres user to run PostgreSQL as";
    return undefined;
  })();

  readonly url: string;
  readonly #bin: string;
  readonly #dir: string;
  readonly #port: number;

  private constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.#dir = dir;
    this.#port = port;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  static async start(): Promise<PrivatePostgres> {
    const bin = serverBinDir();
    if (bin === undefined) throw new Error(PrivatePostgres.unavailableReason);
    const dir = await mkdtemp(join(tmpdir(), "streamkit-pg-"));
    if (userInfo().uid === 0) await run("chown", ["postgres:postgres", dir]);
    const server = new PrivatePostgres(bin, dir, await freePort());
    await server.#as(join(bin, "initdb"), ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    await server.restart();
    return server;
  }

  /** Starts the server (after a crash: with crash recovery) and waits until it accepts connections. */
  async restart(): Promise<void> {
    const options = `-p ${this.#port} -c listen_addresses=127.0.0.1 -k ${this.#dir} -c max_connections=50`;
    await this.#as(join(this.#bin, "pg_ctl"), ["-D", join(this.#dir, "data"), "-o", options, "-l", join(this.#dir, "log"), "-w", "-t", "60", "start"]);
  }

  /** Stops the server as a crash would: no checkpoint, crash recovery on the next start. */
  async crash(): Promise<void> {
    await this.#as(join(this.#bin, "pg_ctl"), ["-D", join(this.#dir, "data"), "-m", "immediate", "-w", "-t", "60", "stop"]);
  }

  async #as(program: string, args: string[]): Promise<void> {
    if (userInfo().uid === 0) await run("runuser", ["-u", "postgres", "--", program, ...args], { timeout: 120_000 });
    else await run(program, args, { timeout: 120_000 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#as(join(this.#bin, "pg_ctl"), ["-D", join(this.#dir, "data"), "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    await rm(this.#dir, { recursive: true, force: true });
  }
}
