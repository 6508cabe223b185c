import { describe, expect, it } from "vitest";
import { describeRun, EXAMPLE_BOUND_MS, runExampleSmoke } from "./run-example.js";

describe("examples/worker-pool", () => {
  it("spreads partitions over the live workers and reassigns a leaving worker's partitions to the others", async () => {
    const run = await runExampleSmoke("worker-pool");
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toContain("3 workers share 6 partitions");
    const reassigned = /worker-2's work was reassigned: (.+); the others kept theirs/.exec(run.stdout);
    expect(reassigned, describeRun(run)).not.toBeNull();
    const moves = reassigned![1]!.split(", ").map((move) => move.split(" → "));
    expect(moves).toHaveLength(2);
    for (const [partition, owner] of moves) {
      expect(partition).toMatch(/^partition-\d$/);
      expect(["worker-1", "worker-3"]).toContain(owner);
    }
  }, EXAMPLE_BOUND_MS + 10_000);
});
