import { describe, expect, it } from "vitest";
import { describeRun, EXAMPLE_BOUND_MS, runExampleSmoke } from "./run-example.js";

describe("examples/leader-election", () => {
  it("hands the lease over with a higher fencing token, and the bank refuses the old leader's write", async () => {
    const run = await runExampleSmoke("leader-election");
    expect(run.code, describeRun(run)).toBe(0);
    const handover = /handover: (candidate-\w) \(token (\d+)\) → (candidate-\w) \(token (\d+)\); the stale write was refused/.exec(run.stdout);
    expect(handover, describeRun(run)).not.toBeNull();
    const [, oldLeader, oldToken, newLeader, newToken] = handover!;
    expect(newLeader).not.toBe(oldLeader);
    expect(Number(newToken)).toBeGreaterThan(Number(oldToken));
    expect(run.stdout).toContain(`bank refused a late write from ${oldLeader}: stale fencing token ${oldToken}`);
    expect(run.stdout).toMatch(/bank ledger: \d+ lines, tokens never decreasing/);
  }, EXAMPLE_BOUND_MS + 10_000);
});
