import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** How long any one wait on the child may take before the test fails: generous, since a `serve` started
 * through tsx on two cores that the rest of the suite keeps busy took over 20 s to listen. */
export const CHILD_WAIT_MS = 60_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** The first stderr line matching `predicate`, waiting for it (bounded). */
  line(predicate: (line: string) => boolean, what: string): Promise<string>;
  readonly exited: Promise<Exit>;
  /** Waits for the exit (bounded). */
  exit(): Promise<Exit>;
}

function bounded<T>(promise: Promise<T>, what: string, output: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr so far:\n${output()}`)), CHILD_WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface RunCliOptions {
  /** Arguments for node itself, before the CLI's. */
  nodeArgs?: readonly string[];
  /** Lowers the child's open-file limit (`ulimit -n`) before it starts. */
  descriptorLimit?: number;
}

/**
 * Runs `streamkit <args>` from the TypeScript sources in a child process, without any
 * `STREAMKIT_*` variable of the test's own environment.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: RunCliOptions = {}): ServeProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("STREAMKIT_")));
  const command = [process.execPath, ...(options.nodeArgs ?? []), "--import", "tsx", "pkg/cli/main.ts", ...args];
  // Through sh, whose `ulimit` lowers the limit for the node it then becomes (exec).
  const [file, ...argv] =
    options.descriptorLimit === undefined ? command : ["sh", "-c", `ulimit -n ${options.descriptorLimit} && exec "$@"`, "sh", ...command];
  const child = spawn(file as string, argv, {
    cwd: REPO,
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  const watchers = new Set<() => void>();
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  const exited = new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));

  const line = (predicate: (line: string) => boolean, what: string): Promise<string> => {
    const find = (): string | undefined => stderr.split("\n").slice(0, -1).find(predicate);
    const waiting = new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found === undefined) return;
        watchers.delete(check);
        resolve(found);
      };
      watchers.add(check);
      check();
      void exited.then(() => {
        if (!watchers.has(check)) return;
        watchers.delete(check);
        reject(new Error(`the process exited before ${what}; stderr:\n${stderr}`));
      });
    });
    return bounded(waiting, what, () => stderr);
  };

  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    line,
    exited,
    exit: () => bounded(exited, "the process to exit", () => stderr),
  };
}

/** A JSON log line of the child's with this message, parsed. */
export async function logEntry(process: ServeProcess, message: string): Promise<Record<string, unknown>> {
  const line = await process.line((text) => text.startsWith("{") && (JSON.parse(text) as { msg?: unknown }).msg === message, `log "${message}"`);
  return JSON.parse(line) as Record<string, unknown>;
}
