import { describe, expect, it } from "vitest";
import { describeRun, EXAMPLE_BOUND_MS, runExampleSmoke } from "./run-example.js";

describe("examples/event-sourcing", () => {
  it("retries a save on sequence_conflict by deciding again, and ends with the right balance", async () => {
    const run = await runExampleSmoke("event-sourcing");
    expect(run.code, describeRun(run)).toBe(0);
    // Both withdrawals were decided at version 2: the loser's save at 3 conflicts, and reloaded it cannot overdraw.
    expect(run.stdout, describeRun(run)).toMatch(/teller [AB]: sequence_conflict \{"expected":4,"actual":3\}; reloaded: balance (20|30) at version 3/);
    expect(run.stdout).toMatch(/teller [AB]: refused: insufficient funds/);
    const final = /40 concurrent deposits saved after \d+ conflict retries; final balance (\d+) \(expected (\d+)\)/.exec(run.stdout);
    expect(final, describeRun(run)).not.toBeNull();
    expect(final![1]).toBe(final![2]);
  }, EXAMPLE_BOUND_MS + 10_000);
});
