import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../pkg/server/auth/index.js";
import { type RunningServer, startServer } from "../../pkg/cli/index.js";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");
/** Bound on each step: packing builds the package, installing may fetch from the npm registry. */
const STEP_MS = 240_000;
const SECRET = "pack-test-secret-of-at-least-32-bytes!!";

/** Runs a command with a bound; its output is kept for the failure message. */
async function sh(command: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, timeout: STEP_MS, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: "false" } });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}\n${stderr ?? ""}`, { cause: error });
  }
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

/** Files a shipped source map points at that the package does not hold (bundlers warn about each). */
async function danglingSourceMaps(root: string): Promise<string[]> {
  const missing: string[] = [];
  for (const file of await readdir(root, { recursive: true })) {
    // None are shipped (tsconfig.build.json); one left in dist by an earlier build would be stale.
    if (file.endsWith(".map")) missing.push(join(root, file));
    if (!file.endsWith(".js")) continue;
    const mapName = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(await readFile(join(root, file), "utf8"))?.[1];
    if (mapName === undefined) continue;
    const mapPath = join(root, dirname(file), mapName);
    const map = await readFile(mapPath, "utf8").catch(() => undefined);
    if (map === undefined) {
      missing.push(mapPath);
      continue;
    }
    const { sources, sourcesContent } = JSON.parse(map) as { sources: string[]; sourcesContent?: unknown[] };
    for (const [index, source] of sources.entries()) {
      if (sourcesContent?.[index] != null) continue;
      const sourcePath = join(dirname(mapPath), source);
      if (!(await stat(sourcePath).then(() => true, () => false))) missing.push(sourcePath);
    }
  }
  return missing;
}

async function versionOf(name: string): Promise<string> {
  return (JSON.parse(await readFile(join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * `npm pack`, then a fresh consumer project installs the tarball as a user would (nothing else), is
 * type-checked strictly without skipLibCheck, and its client runs against a server. docs/install.md
 * has the figures this prints.
 */
describe("the packed package in a consumer project", () => {
  let dir: string;
  let tarball: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-pack-"));
    const packed = JSON.parse(await sh("npm", ["pack", "--json", "--pack-destination", dir], REPO)) as { filename: string }[];
    tarball = join(dir, packed[0]!.filename);
    server = await startServer({ host: "127.0.0.1", port: 0, store: "memory", auth: { jwtSecret: SECRET }, logLevel: "warn" });
  }, STEP_MS);

  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("installs without the server's dependencies, type-checks strictly and runs a client against a server", async () => {
    const app = join(dir, "app");
    await cp(join(import.meta.dirname, "consumer"), app, { recursive: true });
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    await sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], app);

    const installed = (await sh("npm", ["ls", "--all", "--parseable"], app)).trim().split("\n").slice(1);
    const megabytes = (await sizeOf(join(app, "node_modules"))) / 1024 / 1024;
    console.log(`client-only install: ${installed.length} packages, ${megabytes.toFixed(1)} MB in node_modules`);
    const names = installed.map((path) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    for (const serverSide of ["classic-level", "ioredis", "pg", "pino", "prom-client", "mitt", "@opentelemetry/api"]) expect(names).not.toContain(serverSide);
    expect(await danglingSourceMaps(join(app, "node_modules/streamkit-ts"))).toEqual([]);

    await sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--save-dev", `@types/node@${await versionOf("@types/node")}`], app);
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023", "DOM"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          types: ["node"],
          outDir: "dist",
        },
        files: ["app.ts"],
      }),
    );
    await sh(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", "."], app);

    const storeId = crypto.randomUUID();
    const token = await signToken({ secret: SECRET, scopes: [`streamkit::${storeId}`], subject: "pack-test", ttlSec: 600 });
    const output = await sh(process.execPath, ["dist/app.js", server.wsUrl, token, storeId], app);
    expect(JSON.parse(output)).toEqual({ last: 2, payloads: ["created", "paid"], conflict: "sequence_conflict" });

    // The `streamkit` bin of the same install: help and the client verbs need no server dependency,
    // `serve` names the missing one and the line that installs them.
    const cli = (args: readonly string[]) => run(join(app, "node_modules/.bin/streamkit"), args, { cwd: app, timeout: STEP_MS });
    expect((await cli(["--help"])).stdout).toContain("Commands:");
    expect((await cli(["serve", "--help"])).stdout).toContain("Usage: streamkit serve");
    const peeked = await cli(["peek", "orders", "order-1", "--url", server.wsUrl, "--token", token, "--store-id", storeId]);
    expect(JSON.parse(peeked.stdout)).toMatchObject({ sequence: 2, payload: "paid" });
    const serving = await cli(["serve", "--port", "0"]).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
    );
    expect(serving.code).toBe(1);
    expect(serving.stderr).toMatch(/the server needs the package \S+, which is not installed/);
    expect(serving.stderr).toContain("npm install @opentelemetry/api abstract-level classic-level ioredis mitt pg pino pino-pretty prom-client");
  }, 3 * STEP_MS);
});
