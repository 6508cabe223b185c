import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Bound on one example's smoke run: it normally takes a few seconds; the machine may be busy. */
export const EXAMPLE_BOUND_MS = 60_000;

export interface ExampleRun {
  /** Exit code, or null when it was killed. */
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** The command `npm run example:<name>` runs, as package.json declares it. */
export async function exampleScript(name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(`${root}package.json`, "utf8")) as { scripts: { [name: string]: string } };
  const script = manifest.scripts[`example:${name}`];
  if (script === undefined) throw new Error(`package.json has no script example:${name}`);
  return script;
}

/**
 * Runs `npm run example:<name> -- --smoke` (the script's command itself, from the repository root, in
 * its own process group) and waits for it to exit, killing the group after `boundMs`.
 */
export async function runExampleSmoke(name: string, boundMs = EXAMPLE_BOUND_MS): Promise<ExampleRun> {
  const script = await exampleScript(name);
  const child = spawn("sh", ["-c", `${script} --smoke`], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, boundMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  return { code, timedOut, stdout, stderr };
}

/** The run as one text, for assertion messages. */
export function describeRun(run: ExampleRun): string {
  return `exit code ${run.code}${run.timedOut ? " (killed: timed out)" : ""}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
}
