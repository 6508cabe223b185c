import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

/**
 * Compiles the project with tsc into `buildDir`, which must lie inside `root` so the package's
 * node_modules and `"type": "module"` apply. Type errors elsewhere (work in progress) do not stop the
 * emit; a case file that was not emitted does.
 */
export async function buildProject(root: string, buildDir: string, caseNames: Iterable<string>): Promise<void> {
  await rm(buildDir, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const flags = ["-p", join(root, "tsconfig.json"), "--noEmit", "false", "--outDir", buildDir, "--rootDir", root];
  const output = await new Promise<string>((resolve) => {
    const options = { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 };
    execFile(process.execPath, [tsc, ...flags, "--sourceMap", "false", "--declaration", "false"], options, (_error, stdout) => resolve(stdout));
  });
  const errors = output.split("\n").filter((line) => line.includes("error TS")).length;
  if (errors > 0) process.stderr.write(`bench: tsc reported ${errors} type error(s); running what it emitted\n`);
  for (const name of caseNames) {
    const file = join(buildDir, "bench", "cases", `${name}.js`);
    if (!existsSync(file)) throw new Error(`bench: the build did not emit ${file}:\n${output}`);
  }
}
