import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");
const NO_VITEST = "./test/conformance/no-vitest.mjs";
/** Bound on the child run: the memory suites take a few seconds alone, longer on a busy machine. */
const RUN_MS = 120_000;

/** Exit code and output of `node args…` in the repository, never rejecting for a non-zero exit. */
async function node(args: readonly string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: REPO, timeout: RUN_MS, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof code === "number" ? code : -1, output: `${stdout ?? ""}${stderr ?? ""}` };
  }
}

/** A TAP summary line's count (`# pass 74`). */
const count = (output: string, name: string): number => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(output)?.[1] ?? Number.NaN);

describe("the conformance suites outside vitest", () => {
  it("run under node:test, with any import of vitest made to fail", async () => {
    const { code, output } = await node(["--import", "tsx", "--import", NO_VITEST, "--test", "--test-reporter=tap", "test/conformance/node-test-memory.ts"]);
    expect(output).toContain("ok 1 - store conformance: memory");
    expect(output).toContain("ok 2 - bus conformance: memory");
    expect(count(output, "fail")).toBe(0);
    expect(count(output, "cancelled")).toBe(0);
    expect(count(output, "pass")).toBeGreaterThan(70);
    expect(code).toBe(0);
  }, RUN_MS);

  it("where the hook that keeps vitest out does refuse it", async () => {
    const { code, output } = await node(["--import", NO_VITEST, "--input-type=module", "-e", 'await import("vitest")']);
    expect(code).not.toBe(0);
    expect(output).toContain("vitest imported: vitest");
  });
});
