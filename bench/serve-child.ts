// `streamkit serve` in a process of its own, as users deploy it: LevelDB in a temp dir, JWT auth with
// the bench secret, a free port. Bench cases drive it over WebSocket from their own process and read
// its memory from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_SECRET } from "./system.js";

const START_MS = 60_000;

export interface ServeChild {
  /** ws://127.0.0.1:<port> */
  url: string;
  pid: number;
  /** Resident set size now, in bytes (from /proc). */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** Resident set size of process `pid` in bytes (VmRSS), or NaN where /proc has no such file. */
export async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time process `pid` has used so far (user + system), in ms, from /proc (at the kernel's clock
 * tick, 10 ms here), or NaN where /proc has no such file: what a server spent on a measured section,
 * whatever the load on the machine did to its wall time.
 */
export async function cpuMsOf(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), from the state field on: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux build the bench runs on. */
const CLOCK_TICKS = 100;

/** Starts the server from the build the case runs from (compiled .js, or the sources through tsx). */
export async function startServeChild(extraArgs: readonly string[] = []): Promise<ServeChild> {
  const dataDir = await mkdtemp(join(tmpdir(), "streamkit-bench-serve-"));
  const compiled = extname(fileURLToPath(import.meta.url)) === ".js";
  const main = fileURLToPath(new URL(`../pkg/cli/main.${compiled ? "js" : "ts"}`, import.meta.url));
  // STREAMKIT_BENCH_SERVER_PROFILE=<dir>: the server writes a CPU profile of its whole run there on exit.
  const profileDir = process.env.STREAMKIT_BENCH_SERVER_PROFILE;
  const args = [
    ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : []),
    ...(compiled ? [] : ["--import", "tsx"]),
    main,
    "serve",
    ...["--port", "0", "--data-dir", dataDir, "--jwt-secret", BENCH_SECRET, "--log-pretty", "false", "--idle-ttl-ms", "0"],
    ...extraArgs,
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("STREAMKIT_")));
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`streamkit serve did not start in ${START_MS} ms:\n${stderr}`)), START_MS);
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      for (const line of stderr.split("\n").slice(0, -1)) {
        if (!line.includes('"listening"')) continue;
        const address = (JSON.parse(line) as { url?: string }).url;
        if (address === undefined) continue;
        clearTimeout(timer);
        resolve(address.replace(/^http/, "ws"));
      }
      // Only the start matters; keep the buffer from growing with later logs.
      if (stderr.length > 1_000_000) stderr = stderr.slice(-100_000);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`streamkit serve exited:\n${stderr}`));
    });
  });
  const pid = child.pid as number;
  return {
    url,
    pid,
    rss: () => rssOf(pid),
    stop: () => stopChild(child, exited, dataDir),
  };
}

/** SIGTERM, then SIGKILL after 15 s without an exit; then removes the child's data directory. */
export async function stopChild(child: ChildProcess, exited: Promise<void>, dataDir: string): Promise<void> {
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dataDir, { recursive: true, force: true });
}
