import { describe, expect, it } from "vitest";
import { chromiumMissing } from "../browser/chromium.js";
import { describeRun, EXAMPLE_BOUND_MS, runExampleSmoke } from "./run-example.js";

const missing = await chromiumMissing();
const mustRun = process.env.CI === "true";
if (missing !== undefined && !mustRun) console.log(`browser-follow example skipped: ${missing}`);

describe.skipIf(missing !== undefined && !mustRun)("examples/browser-follow", () => {
  it("shows a followed space in headless Chromium, entries arriving live after the history", async () => {
    const run = await runExampleSmoke("browser-follow");
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout, describeRun(run)).toMatch(/browser page received 3 live entries \(ticks \d+\.\.\d+\) after its history; ticks 1\.\.\d+ in order, none missing \(client connected\)/);
  }, EXAMPLE_BOUND_MS + 10_000);
});
