import { describe, expect, it } from "vitest";
import { describeRun, EXAMPLE_BOUND_MS, runExampleSmoke } from "./run-example.js";

describe("examples/express-embed", () => {
  it("serves its Express routes and Streamkit on one server: posted orders are read back over WebSocket", async () => {
    const run = await runExampleSmoke("express-embed");
    expect(run.code, describeRun(run)).toBe(0);
    const posted = [...run.stdout.matchAll(/POST \/orders \S+ → 201 (order-[0-9a-f]{8}) \(sequence 1\)/g)].map((match) => match[1]);
    expect(posted, describeRun(run)).toHaveLength(3);
    for (const orderId of posted) expect(run.stdout).toContain(`websocket reader: ${orderId} #1 {"type":"created"`);
    expect(run.stdout).toMatch(/websocket reader: order-[0-9a-f]{8} #2 \{"type":"paid"\}/);
    expect(run.stdout).toContain("read 4 entries of 3 orders back over WebSocket; the app's own routes still answer");
  }, EXAMPLE_BOUND_MS + 10_000);
});
