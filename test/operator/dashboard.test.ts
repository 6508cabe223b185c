import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../pkg/cli/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { chromiumMissing, launchChromium } from "../browser/chromium.js";
import { records } from "../support/data.js";
import { RawClient } from "../support/ws-raw-client.js";
import { call, getStatus, mintToken, useServers, WAIT_MS } from "./support.js";

/** Set to refresh the committed screenshot (docs/dashboard.png) from this test's run. */
const UPDATE_SCREENSHOT = process.env.STREAMKIT_UPDATE_SCREENSHOTS === "1";
const DOCS_SCREENSHOT = join(import.meta.dirname, "../../docs/dashboard.png");

const missing = await chromiumMissing();
const mustRun = process.env.CI === "true";
if (missing !== undefined && !mustRun) console.log(`dashboard tests skipped: ${missing}`);

const servers = useServers();

/** Answers the page's confirm() dialogs in turn (accept or dismiss); returns their messages as they come. */
function answerConfirms(page: Page, answers: boolean[]): string[] {
  const asked: string[] = [];
  page.on("dialog", (dialog) => {
    asked.push(dialog.message());
    void (answers.shift() === true ? dialog.accept() : dialog.dismiss());
  });
  return asked;
}

/** Paths of the POSTs the page sends to the admin API, as they are sent. */
function adminPosts(page: Page): string[] {
  const posts: string[] = [];
  page.on("request", (request) => {
    const { pathname } = new URL(request.url());
    if (request.method() === "POST" && pathname.startsWith("/api/admin/")) posts.push(pathname);
  });
  return posts;
}

describe.skipIf(missing !== undefined && !mustRun)("the operator dashboard in headless Chromium", () => {
  let dir: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-dashboard-"));
    await mkdir(join(dir, "profile"));
    browser = await launchChromium(join(dir, "profile"));
  });

  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(server: RunningServer, width = 1280): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    await page.setViewportSize({ width, height: 800 });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(`${server.url}/`, { timeout: WAIT_MS });
    await page.waitForSelector("body[data-ready]", { timeout: WAIT_MS });
    return { page, errors };
  }

  const client = async (server: RunningServer, subject: string): Promise<StreamsClient> =>
    createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"], subject) }));

  it("loads, shows connections and traffic live, and its Close button closes a connection", { timeout: 60_000 }, async () => {
    const server = await servers.start();
    const { page, errors } = await open(server);
    const clients: StreamsClient[] = [];
    try {
      const { nodeId } = (await call<{ nodeId: string }>(`${server.url}/version`)).body;
      expect(await page.textContent("#node-id")).toBe(nodeId);
      await page.waitForFunction(() => document.getElementById("live-text")?.textContent === "live", undefined, { timeout: WAIT_MS });
      // Empty tables say so only once a status arrived (before, they say they are waiting for one).
      await page.waitForFunction(() => document.body.dataset.ready === "true", undefined, { timeout: WAIT_MS });
      expect(await page.textContent("#errors-empty")).toBe("No errors.");

      // A client connecting after the page loaded appears without a reload.
      const raw = await RawClient.connect(`${server.wsUrl}/streamz`, {
        token: await mintToken(["streamkit::*"], "dashboard-e2e"),
        headers: { "user-agent": "dashboard-e2e/1.0 (playwright)" },
      });
      const id = (await getStatus(server.url)).connections.find((connection) => connection.subject === "dashboard-e2e")!.id;
      const row = page.locator(`#connections tbody tr[data-key="${id}"]`);
      await row.waitFor({ timeout: WAIT_MS });
      expect(await row.textContent()).toContain("dashboard-e2e/1.0 (playwright)");

      // Traffic, a subscription, a lease and a refused batch show up as they happen.
      const orders = await client(server, "orders-service");
      const analytics = await client(server, "analytics");
      clients.push(orders, analytics);
      const [ordersStore, billingStore] = [crypto.randomUUID(), crypto.randomUUID()];
      await orders.produce(ordersStore, "orders", "order-42", records(1, 120, "order"));
      await orders.produce(billingStore, "invoices", "2024-06", records(1, 40, "invoice"));
      await analytics.subscribeToSegment(ordersStore, "orders", "order-42", () => undefined);
      await orders.acquireLease(billingStore, "invoice-run", { holder: "worker-1", ttlMs: 60_000 });
      await expect(orders.produce(ordersStore, "orders", "order-42", records(7, 1))).rejects.toMatchObject({ kind: "sequence_conflict" });
      for await (const entry of analytics.consumeSegment(billingStore, { space: "invoices", segment: "2024-06" })) expect(entry.sequence).toBeGreaterThan(0);

      await page.waitForFunction(
        () =>
          document.getElementById("card-produced-note")?.textContent?.includes("160 total") === true &&
          document.querySelectorAll("#stores tbody tr").length === 2 &&
          document.querySelectorAll("#errors li").length === 1 &&
          document.getElementById("card-live")?.textContent === "1",
        undefined,
        { timeout: WAIT_MS },
      );
      expect(await page.textContent("#errors")).toContain("sequence_conflict");
      expect(await page.locator("#connections tbody tr").count()).toBe(3);

      const screenshot = join(dir, "dashboard.png");
      await page.screenshot({ path: screenshot });
      if (UPDATE_SCREENSHOT) await copyFile(screenshot, DOCS_SCREENSHOT);

      // The Close button asks first; refused, it sends nothing. Accepted, it calls
      // POST /api/admin/connections/:id/close: the client is closed, the row goes.
      const asked = answerConfirms(page, [false, true]);
      const posts = adminPosts(page);
      await row.locator('button[data-action="close"]').click();
      await row.locator('button[data-action="close"]').click();
      expect((await raw.closed).code).toBe(4002);
      await row.waitFor({ state: "detached", timeout: WAIT_MS });
      expect(await page.textContent("#toast")).toBe(`Connection ${id} closed`);
      expect(asked).toEqual([`Close connection ${id}? Its streams end and its client has to reconnect.`, `Close connection ${id}? Its streams end and its client has to reconnect.`]);
      expect(posts).toEqual([`/api/admin/connections/${encodeURIComponent(id)}/close`]);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all(clients.map((each) => each.close()));
      await page.close();
    }
  });

  it("deletes a store with its Delete button only once the confirmation is accepted", { timeout: 60_000 }, async () => {
    const server = await servers.start();
    const { page, errors } = await open(server);
    const orders = await client(server, "orders-service");
    const storeId = crypto.randomUUID();
    try {
      await orders.produce(storeId, "orders", "order-1", records(1, 3));
      const row = page.locator(`#stores tbody tr[data-key="${storeId}"]`);
      const asked = answerConfirms(page, [false, true]);
      const posts = adminPosts(page);
      await row.locator('button[data-action="delete"]').click({ timeout: WAIT_MS });
      // Refused: nothing was sent, the data is all there.
      expect(asked).toEqual([`Delete store ${storeId}? Every entry, lease and retention of it goes, for good.`]);
      expect(posts).toEqual([]);
      expect((await orders.getStatus(storeId)).spaces).toHaveLength(1);
      await row.locator('button[data-action="delete"]').click({ timeout: WAIT_MS });
      await page.waitForFunction((id) => document.getElementById("toast")?.textContent === `Store ${id} deleted`, storeId, { timeout: WAIT_MS });
      expect(posts).toEqual([`/api/admin/stores/${storeId}/delete`]);
      expect((await orders.getStatus(storeId)).spaces).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await orders.close();
      await page.close();
    }
  });

  it("evicts a store's node with its Evict button", { timeout: 60_000 }, async () => {
    const server = await servers.start();
    const { page, errors } = await open(server);
    const orders = await client(server, "orders-service");
    const storeId = crypto.randomUUID();
    try {
      await orders.produce(storeId, "orders", "order-1", records(1, 3));
      const row = page.locator(`#stores tbody tr[data-key="${storeId}"]`);
      const asked = answerConfirms(page, [false, true]);
      const posts = adminPosts(page);
      await row.locator('button[data-action="evict"]').click({ timeout: WAIT_MS });
      await row.locator('button[data-action="evict"]').click({ timeout: WAIT_MS });
      await page.waitForFunction(
        (id) => document.querySelector(`#stores tbody tr[data-key="${id}"] td:nth-child(2)`)?.textContent === "closed",
        storeId,
        { timeout: WAIT_MS },
      );
      expect((await getStatus(server.url)).counts.nodes).toBe(0);
      expect(asked).toHaveLength(2);
      expect(asked[0]).toMatch(/^Evict store /);
      expect(posts).toEqual([`/api/admin/stores/${storeId}/evict`]);
      expect(errors).toEqual([]);
    } finally {
      await orders.close();
      await page.close();
    }
  });

  it("on a 390 px phone: no card clips, the charts draw rates and errors, Evict still asks first", { timeout: 60_000 }, async () => {
    const server = await servers.start();
    const { page, errors } = await open(server, 390);
    const orders = await client(server, "orders-service");
    const storeId = crypto.randomUUID();
    try {
      await page.waitForFunction(() => document.getElementById("live-text")?.textContent === "live", undefined, { timeout: WAIT_MS });
      await orders.produce(storeId, "orders", "order-1", records(1, 50, "a-fairly-long-payload"));
      await expect(orders.produce(storeId, "orders", "order-1", records(3, 1))).rejects.toMatchObject({ kind: "sequence_conflict" });
      // Two statuses at least after the traffic: the charts have rates to draw, produced and errors above 0.
      await page.waitForFunction(
        () => {
          // A point above the axis (y < 89 in the chart's 90-high box): a rate above 0 was drawn.
          const drawn = (key: string) =>
            (document.querySelector(`polyline.${key}`)?.getAttribute("points") ?? "")
              .split(" ")
              .some((point) => point !== "" && Number(point.split(",")[1]) < 89);
          return drawn("produced") && drawn("errors");
        },
        undefined,
        { timeout: WAIT_MS },
      );
      expect(Number(await page.getAttribute("#chart-rates", "data-points"))).toBeGreaterThanOrEqual(1);
      expect(await page.textContent("#chart-rates-peak")).toMatch(/peak|collecting/);

      // Nothing wider than the screen: every card's content fits in it, and the page does not scroll sideways.
      const layout = await page.evaluate(() => ({
        pageWidth: document.documentElement.scrollWidth,
        cards: Array.from(document.querySelectorAll<HTMLElement>(".card")).map((card) => ({
          id: card.querySelector(".value")?.id,
          right: card.getBoundingClientRect().right,
          clipped: Array.from(card.querySelectorAll<HTMLElement>("h3, .value, .note")).some((part) => part.scrollWidth > part.clientWidth + 1),
        })),
      }));
      expect(layout.pageWidth).toBeLessThanOrEqual(390);
      for (const card of layout.cards) {
        expect(card.clipped, card.id).toBe(false);
        expect(card.right, card.id).toBeLessThanOrEqual(390);
      }
      if (UPDATE_SCREENSHOT) await page.screenshot({ path: join(import.meta.dirname, "../../docs/dashboard-390.png"), fullPage: false });

      const row = page.locator(`#stores tbody tr[data-key="${storeId}"]`);
      const asked = answerConfirms(page, [false]);
      const posts = adminPosts(page);
      await row.locator('button[data-action="evict"]').click({ timeout: WAIT_MS });
      expect(asked).toEqual([`Evict store ${storeId}? Its open streams end; the next use opens it again.`]);
      expect(posts).toEqual([]);
      expect((await getStatus(server.url)).counts.nodes).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await orders.close();
      await page.close();
    }
  });
});
