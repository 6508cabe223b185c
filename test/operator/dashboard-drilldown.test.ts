import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../pkg/cli/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { chromiumMissing, launchChromium } from "../browser/chromium.js";
import { records } from "../support/data.js";
import type { StoreDetail } from "../../pkg/server/index.js";
import { call, eventually, mintToken, useServers, WAIT_MS } from "./support.js";

const missing = await chromiumMissing();
const mustRun = process.env.CI === "true";
if (missing !== undefined && !mustRun) console.log(`dashboard drill-down tests skipped: ${missing}`);

const servers = useServers();

/** The cells' text of a table's body rows. */
const rowsOf = (page: Page, table: string): Promise<string[][]> =>
  page.$$eval(`#${table} tbody tr`, (rows) => rows.map((row) => Array.from((row as HTMLTableRowElement).cells, (cell) => cell.textContent?.trim() ?? "")));

describe.skipIf(missing !== undefined && !mustRun)("the dashboard's store drill-down in headless Chromium", () => {
  let dir: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-drilldown-"));
    await mkdir(join(dir, "profile"));
    browser = await launchChromium(join(dir, "profile"));
  });

  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(server: RunningServer, width: number, hash = ""): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    await page.setViewportSize({ width, height: 800 });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${server.url}/${hash}`, { timeout: WAIT_MS });
    await page.waitForSelector("body[data-ready]", { timeout: WAIT_MS });
    return { page, errors };
  }

  /** A store with two spaces, one of its segments closed, and a lease. */
  async function storeWithTwoSpaces(server: RunningServer): Promise<{ client: StreamsClient; storeId: string }> {
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"], "drilldown") }));
    const storeId = crypto.randomUUID();
    await client.produce(storeId, "orders", "o-1", records(1, 3));
    await client.produce(storeId, "orders", "o-2", records(1, 2));
    await client.closeSegment(storeId, "orders", "o-2");
    await client.produce(storeId, "payments", "p-1", records(1, 1));
    await client.acquireLease(storeId, "leader", { holder: "node-a", ttlMs: 600_000 });
    return { client, storeId };
  }

  it("clicking a store opens its spaces and segments; Close hides them", { timeout: 60_000 }, async () => {
    const server = await servers.start();
    const { client, storeId } = await storeWithTwoSpaces(server);
    const stop = new AbortController();
    const reading = (async () => {
      for await (const _entry of client.consumeSpace(storeId, { space: "orders", follow: true }, { signal: AbortSignal.any([stop.signal, AbortSignal.timeout(WAIT_MS * 3)]) })) void _entry;
    })().catch(() => undefined);
    await eventually(
      async () => (await call<StoreDetail>(`${server.url}/api/stores/${storeId}`)).body,
      (body) => body.followers?.[0]?.behind === 0,
      "the follow of orders to catch up",
    );
    const { page, errors } = await open(server, 1280);
    try {
      expect(await page.isVisible("#store-detail")).toBe(false);
      await page.click(`#stores a.store-link[href="#/store/${storeId}"]`, { timeout: WAIT_MS });
      await page.waitForSelector("#store-detail[data-state=ready]", { timeout: WAIT_MS });
      expect(await page.evaluate(() => location.hash)).toBe(`#/store/${storeId}`);
      expect(await page.textContent("#detail-id")).toBe(storeId);
      expect((await rowsOf(page, "detail-spaces")).map((cells) => cells.slice(0, 3))).toEqual([
        ["orders", "2", "5"],
        ["payments", "1", "1"],
      ]);
      const segments = await rowsOf(page, "detail-segments");
      expect(segments.map(([space, segment, first, , last, , state]) => [space, segment, first, last, state])).toEqual([
        ["orders", "o-1", "1", "3", "open"],
        ["orders", "o-2", "1", "2", "closed"],
        ["payments", "p-1", "1", "1", "open"],
      ]);
      expect(await page.isVisible("#detail-workers-empty")).toBe(true);
      // One follow of orders, caught up: listed with its connection and position.
      const followers = await rowsOf(page, "detail-followers");
      expect(followers.map(([op, , follows, behind, lag]) => [op, follows, behind, lag])).toEqual([["consume_space", "orders @5 of 5", "0", "0 ms"]]);
      expect(followers[0]?.[1]).toMatch(/^\S+ #\d+$/);
      const leases = await rowsOf(page, "detail-leases");
      expect(leases.map(([key, holder, token]) => [key, holder, token])).toEqual([["leader", "node-a", "1"]]);
      expect(leases[0]?.[3]).toMatch(/^in (9|10) min/);
      expect(await page.isVisible("#detail-leases-empty")).toBe(false);

      await page.click("#detail-close");
      await page.waitForSelector("#store-detail", { state: "hidden", timeout: WAIT_MS });
      expect(errors).toEqual([]);
    } finally {
      stop.abort();
      await reading;
      await page.close();
      await client.close();
    }
  });

  it("on a 390 px phone the drill-down fits the screen; a store not open says so", { timeout: 60_000 }, async () => {
    const server = await servers.start();
    const { client, storeId } = await storeWithTwoSpaces(server);
    const { page, errors } = await open(server, 390, `#/store/${storeId}`);
    try {
      await page.waitForSelector("#store-detail[data-state=ready]", { timeout: WAIT_MS });
      expect((await rowsOf(page, "detail-segments")).length).toBe(3);
      const layout = await page.evaluate(() => ({
        pageWidth: document.documentElement.scrollWidth,
        panelRight: document.getElementById("store-detail")?.getBoundingClientRect().right ?? Infinity,
      }));
      expect(layout.pageWidth).toBeLessThanOrEqual(390);
      expect(layout.panelRight).toBeLessThanOrEqual(390);

      const unknown = crypto.randomUUID();
      await page.evaluate((id) => (location.hash = `#/store/${id}`), unknown);
      await page.waitForSelector("#store-detail[data-state=error]", { timeout: WAIT_MS });
      expect(await page.textContent("#detail-message")).toContain(unknown);
      expect(await page.isVisible("#detail-body")).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await client.close();
    }
  });
});
