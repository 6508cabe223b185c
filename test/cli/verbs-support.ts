import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningServer, startServer } from "../../pkg/cli/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { silentLogger } from "../../pkg/api/logger.js";
import { createWsProvider } from "../../transport/ws/index.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** Bound on any one wait on a child; generous, since the machine is shared. */
export const VERB_WAIT_MS = 30_000;

export interface VerbResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface VerbProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits (bounded) until stdout holds `count` complete lines; resolves to them. */
  stdoutLines(count: number): Promise<string[]>;
  /** Waits (bounded) for the exit. */
  result(): Promise<VerbResult>;
}

function bounded<T>(promise: Promise<T>, what: string, output: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${output()}`)), VERB_WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const completeLines = (text: string): string[] => text.split("\n").slice(0, -1);

/**
 * Starts `streamkit <args>` from the sources in a child process, with none of the test's own
 * `STREAMKIT_*` variables; `input` is written to its stdin, which is then closed.
 */
export function spawnVerb(args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {}): VerbProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("STREAMKIT_")));
  const child = spawn(process.execPath, ["--import", "tsx", "pkg/cli/main.ts", ...args], {
    cwd: REPO,
    env: { ...inherited, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // The child may exit before reading its input (usage errors): that is not the test's failure.
  child.stdin.on("error", () => undefined);
  child.stdin.end(options.input ?? "");
  const exited = new Promise<VerbResult>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const output = (): string => `stdout:\n${stdout}\nstderr:\n${stderr}`;

  const stdoutLines = (count: number): Promise<string[]> => {
    const waiting = new Promise<string[]>((resolve, reject) => {
      const check = (): void => {
        const lines = completeLines(stdout);
        if (lines.length < count) return;
        watchers.delete(check);
        resolve(lines.slice(0, count));
      };
      watchers.add(check);
      check();
      void exited.then(() => {
        if (!watchers.delete(check)) return;
        reject(new Error(`the process exited before printing ${count} lines; ${output()}`));
      });
    });
    return bounded(waiting, `${count} lines on stdout`, output);
  };

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stdoutLines,
    result: () => bounded(exited, `streamkit ${args[0]} to exit`, output),
  };
}

/** Runs a verb to its end (bounded). */
export function runVerb(args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {}): Promise<VerbResult> {
  return spawnVerb(args, options).result();
}

export interface TestServer {
  readonly server: RunningServer;
  readonly dataDir: string;
  /** The server's 24 h dev token (scope streamkit::*). */
  readonly token: string;
  readonly storeId: string;
  /** Variables that point a verb at this server and store, with the dev token. */
  readonly env: NodeJS.ProcessEnv;
  /** An SDK client of this server (dev token), for checks the CLI's output cannot show. */
  client(): StreamsClient;
  close(): Promise<void>;
}

/** `streamkit serve`'s server in this process: LevelDB in a temp dir, 127.0.0.1, a free port, dev secret. */
export async function startTestServer(): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "streamkit-verbs-"));
  const server = await startServer({ host: "127.0.0.1", port: 0, dataDir, logLevel: "silent" }, { logger: silentLogger });
  const token = server.devToken!;
  const storeId = randomUUID();
  return {
    server,
    dataDir,
    token,
    storeId,
    env: { STREAMKIT_URL: server.wsUrl, STREAMKIT_STORE_ID: storeId, STREAMKIT_TOKEN: token },
    client: () => createClient(createWsProvider(server.wsUrl, { token })),
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A loopback port nobody listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Parses JSON lines. */
export const jsonLines = (text: string): Record<string, unknown>[] => completeLines(text).map((line) => JSON.parse(line) as Record<string, unknown>);
