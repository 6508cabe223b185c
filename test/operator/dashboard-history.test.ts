import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import type { RateHistoryAnswer } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { chromiumMissing, launchChromium } from "../browser/chromium.js";
import { records } from "../support/data.js";
import { call, eventually, mintToken, useServers, WAIT_MS } from "./support.js";

const missing = await chromiumMissing();
const mustRun = process.env.CI === "true";
if (missing !== undefined && !mustRun) console.log(`dashboard history tests skipped: ${missing}`);

const servers = useServers();

describe.skipIf(missing !== undefined && !mustRun)("the dashboard's charts at page load, in headless Chromium", () => {
  let dir: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-history-"));
    await mkdir(join(dir, "profile"));
    browser = await launchChromium(join(dir, "profile"));
  });

  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("opens with the server's recent rates already drawn", { timeout: 60_000 }, async () => {
    const server = await servers.start({ operator: { historyIntervalMs: 100, historyWindowMs: 60_000 } });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    try {
      await client.produce(crypto.randomUUID(), "s", "g", records(1, 500));
      // Traffic before the page opened, in the server's history.
      await eventually(
        async () => (await call<RateHistoryAnswer>(`${server.url}/api/status/history`)).body,
        (body) => body.samples.length >= 2 && body.samples.some((sample) => sample.produced > 0),
        "history samples with the produce",
      );
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      try {
        await page.goto(`${server.url}/`, { timeout: WAIT_MS });
        await page.waitForSelector("#chart-rates[data-history]", { timeout: WAIT_MS });
        expect(Number(await page.getAttribute("#chart-rates", "data-history"))).toBeGreaterThanOrEqual(1);
        // A point of the produced line above the axis (y < 89 in the 90-high box): the earlier rate is drawn.
        const ys = await page.$eval("#chart-rates polyline.produced", (line) =>
          (line.getAttribute("points") ?? "").split(" ").filter(Boolean).map((point) => Number(point.split(",")[1])),
        );
        expect(Math.min(...ys)).toBeLessThan(89);
        expect(await page.textContent("#chart-rates-peak")).toMatch(/^peak /);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    } finally {
      await client.close();
    }
  });
});
