import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** What one bench case prints as its last stdout line (JSON). */
export interface CaseResult {
  /** Operations (records, entries, publishes, connections…) per second, or another figure per `unit`. */
  value: number;
  unit: string;
  detail?: string;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** Runs one case in a fresh Node process and returns what it reported. Bounded by `timeoutMs`. */
export async function runCase(name: string, args: string[] = [], timeoutMs = 180_000): Promise<CaseResult> {
  const file = join(here, "cases", `${name}.ts`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--expose-gc", file, ...args],
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

export function perSecond(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

/** Records of `size` bytes, distinct payloads so nothing compresses away. */
export function payloadOf(size: number, seed: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (seed * 31 + i * 7) & 0xff;
  return payload;
}
