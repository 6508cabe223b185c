import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** What one bench case prints as its last stdout line (JSON). */
export interface CaseResult {
  /** Operations (records, entries, publishes, connections…) per second, or another figure per `unit`. */
  value: number;
  unit: string;
  detail?: string;
  /** Further figures of the same run, by name (a row shows one with `field`). */
  fields?: { [name: string]: number };
  /** Why nothing was measured (a peer that is not reachable): the table prints "not measured". */
  notMeasured?: string;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * Runs one case in a fresh Node process and returns what it reported. Bounded by `timeoutMs`.
 * With `buildDir` (the project compiled by tsc, see run.ts) it runs the compiled case, as users run
 * the package; otherwise the TypeScript source through tsx.
 */
export async function runCase(name: string, args: string[] = [], timeoutMs = 180_000, buildDir?: string): Promise<CaseResult> {
  const entry =
    buildDir === undefined ? ["--import", "tsx", join(here, "cases", `${name}.ts`)] : [join(buildDir, "bench", "cases", `${name}.js`)];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", ...entry, ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`bench case ${name} failed: ${error.message}\n${stderr}`));
          return;
        }
        const last = stdout.trim().split("\n").at(-1) ?? "";
        try {
          resolve(JSON.parse(last) as CaseResult);
        } catch {
          reject(new Error(`bench case ${name} printed no result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** Prints a case's result as its last stdout line; the harness reads it. */
export function report(result: CaseResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "streamkit-bench-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How long a measured section took: wall time, and CPU time of the whole process (every thread). */
export interface Timing {
  ms: number;
  cpuMs: number;
}

/**
 * Runs the measured section and returns its timing. With STREAMKIT_BENCH_PROFILE=<dir>, also writes
 * a CPU profile of just this section there (open it in Chrome DevTools or speedscope).
 */
export async function timed(section: () => Promise<unknown>): Promise<Timing> {
  const profileDir = process.env.STREAMKIT_BENCH_PROFILE;
  const session = profileDir ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await section();
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = performance.now() - started;
  if (session && profileDir) {
    const { profile } = await session.post("Profiler.stop");
    await mkdir(profileDir, { recursive: true });
    const name = `${process.argv.slice(1).map((arg) => arg.replace(/.*\//, "")).join("_")}.${process.pid}.cpuprofile`;
    await writeFile(join(profileDir, name), JSON.stringify(profile));
    session.disconnect();
  }
  return { ms: elapsed, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * CPU per operation, for a case's detail: on this shared machine wall-clock figures move with the
 * neighbours' load, CPU per operation much less.
 */
export function cpuPerOp(timing: Timing, count: number): string {
  return `${((timing.cpuMs * 1000) / count).toFixed(1)} µs CPU/op`;
}

export function perSecond(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

/** Records of `size` bytes, distinct payloads so nothing compresses away. */
export function payloadOf(size: number, seed: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (seed * 31 + i * 7) & 0xff;
  return payload;
}
