import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/auth/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { bytes, collect, records, text } from "../support/data.js";
import { type BrowserBundle, bundleBrowserSdk } from "./bundle.js";
import { chromiumMissing, launchChromium } from "./chromium.js";
import { PAGE_HTML, type PageEntry } from "./page.js";
import { serveStatic, type StaticServer } from "./static-server.js";
import { type BrowserTestServer, startBrowserTestServer } from "./streamz-server.js";

const SECRET = "browser-sdk-test-secret-of-at-least-32-bytes";
const SUBJECT = "browser-sdk-test";
/** Bound on every wait: page.waitForFunction timeouts, and an AbortSignal on every SDK call made in the page. */
const BOUND_MS = 15_000;

const missing = await chromiumMissing();
const mustRun = process.env.CI === "true";
if (missing !== undefined && !mustRun) console.log(`browser SDK tests skipped: ${missing}`);

describe.skipIf(missing !== undefined && !mustRun)("the client SDK bundled for the browser, in headless Chromium", () => {
  const storeId = crypto.randomUUID();
  let dir: string;
  let bundle: BrowserBundle;
  let server: BrowserTestServer;
  let site: StaticServer;
  let browser: BrowserContext;
  let page: Page;
  let token: string;
  let node: StreamsClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-browser-sdk-"));
    bundle = await bundleBrowserSdk();
    server = await startBrowserTestServer(SECRET);
    node = createClient(createInProcProvider(server.manager));
    token = await signToken({ secret: SECRET, scopes: [`streamkit::${storeId}`], subject: SUBJECT, ttlSec: 600 });
    site = await serveStatic({
      "/": { contentType: "text/html; charset=utf-8", body: PAGE_HTML },
      "/streamkit.js": { contentType: "text/javascript; charset=utf-8", body: bundle.code },
    });
    await mkdir(join(dir, "profile"));
    browser = await launchChromium(join(dir, "profile"));
    page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${site.url}/`, { timeout: BOUND_MS });
    await page.waitForFunction(() => typeof window.streamkit?.createClient === "function", undefined, { timeout: BOUND_MS }).catch((error: unknown) => {
      throw new Error(`the bundle did not load (page errors: ${pageErrors.join("; ") || "none"})`, { cause: error });
    });
    await page.evaluate(
      ({ url, token }) => {
        window.client = window.streamkit.createClient(window.streamkit.createWsProvider(url, { token }));
        window.log(`client created for ${url}`);
      },
      { url: server.wsUrl, token },
    );
  });

  afterAll(async () => {
    if (page !== undefined) {
      await page.evaluate(() => window.client?.close()).catch(() => undefined);
      const screenshot = join(dir, "browser-sdk.png");
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`browser SDK page screenshot: ${screenshot}`);
    }
    await browser?.close();
    await site?.close();
    await node?.close();
    await server?.close();
    // The screenshot stays for a person to look at; the browser profile goes.
    if (dir !== undefined) await rm(join(dir, "profile"), { recursive: true, force: true });
  });

  it("bundles the browser export of transport/ws with no ws and no Node built-in", () => {
    expect(bundle.inputs).toContain("transport/ws/client/browser-socket.ts");
    expect(bundle.inputs.filter((input) => /node_modules\/ws\/|transport\/ws\/server\/|node-socket/.test(input))).toEqual([]);
    expect(bundle.inputs.filter((input) => input.startsWith("node:"))).toEqual([]);
    expect(bundle.code).not.toMatch(/from\s*["'](node:|ws["'])/);
  });

  it("produces, publishes and consumes records from the page", async () => {
    const result = await page.evaluate(
      async ({ storeId, bound }) => {
        const client = window.client!;
        const signal = AbortSignal.timeout(bound);
        const encoder = new TextEncoder();
        const decoder = new TextDecoder();
        const batch = ["alpha", "beta", "gamma"].map((word, i) => ({ sequence: i + 1, payload: encoder.encode(word), metadata: { word } }));
        const produced = await client.produce(storeId, "orders", "order-1", batch, { signal });
        const published = await client.publish(storeId, "orders", "order-1", encoder.encode("delta"), { metadata: { word: "delta" }, signal });
        window.log(`produced 3 records and published 1: head ${published.lastSequence}`);
        const entries = [];
        for await (const entry of client.consumeSegment(storeId, { space: "orders", segment: "order-1", signal })) {
          entries.push({
            space: entry.space,
            segment: entry.segment,
            sequence: entry.sequence,
            text: decoder.decode(entry.payload),
            metadata: entry.metadata,
            offset: entry.offset,
            payloadIsBytes: entry.payload instanceof Uint8Array,
          });
        }
        window.log(`consumed ${entries.length} entries: ${entries.map((entry) => entry.text).join(", ")}`);
        return { produced, published, entries };
      },
      { storeId, bound: BOUND_MS },
    );

    expect(result.produced.map((status) => status.lastSequence)).toEqual([3]);
    expect(result.published).toMatchObject({ space: "orders", segment: "order-1", firstSequence: 1, lastSequence: 4 });
    const words = ["alpha", "beta", "gamma", "delta"];
    expect(result.entries.map(({ sequence, text, metadata, payloadIsBytes }) => ({ sequence, text, metadata, payloadIsBytes }))).toEqual(
      words.map((word, i) => ({ sequence: i + 1, text: word, metadata: { word }, payloadIsBytes: true })),
    );
    expect(result.entries.every((entry) => entry.offset !== "")).toBe(true);
    // What the page wrote is what Node reads, byte for byte.
    const fromNode = await collect(node.consumeSegment(storeId, { space: "orders", segment: "order-1" }));
    expect(fromNode.map((entry) => text(entry.payload))).toEqual(words);
  });

  it("carries the token in Sec-WebSocket-Protocol, never in an Authorization header", async () => {
    const streamzUpgrades = server.upgrades.filter((upgrade) => upgrade.url === "/streamz");
    expect(streamzUpgrades.length).toBeGreaterThanOrEqual(1);
    for (const { headers } of streamzUpgrades) {
      expect(headers.authorization).toBeUndefined();
      expect(headers["user-agent"]).toContain("HeadlessChrome");
      const protocols = (headers["sec-websocket-protocol"] ?? "").split(",").map((protocol) => protocol.trim());
      expect(protocols).toEqual(["streamkit.v1", `bearer.${token}`]);
    }
    const connections = server.streamz.connections();
    expect(connections.map((connection) => connection.subject)).toEqual([SUBJECT]);
    expect(connections[0]?.userAgent).toContain("HeadlessChrome");

    // The server does check what the browser sends: a bad token is refused at the upgrade.
    const refused = await page.evaluate(
      async ({ url, storeId, bound }) => {
        const { createClient, createWsProvider } = window.streamkit;
        const client = createClient(createWsProvider(url, { token: "not-a-jwt", retry: { maxAttempts: 1 } }));
        try {
          await client.getSpaces(storeId, { signal: AbortSignal.timeout(bound) });
          return "accepted";
        } catch (error) {
          return (error as { kind?: string }).kind ?? String(error);
        } finally {
          await client.close();
        }
      },
      { url: server.wsUrl, storeId, bound: BOUND_MS },
    );
    // A browser cannot see the HTTP 401 of a refused upgrade, so the dial fails as `unavailable`.
    expect(refused).toBe("unavailable");
    expect(server.upgrades.at(-1)?.headers["sec-websocket-protocol"]).toBe("streamkit.v1, bearer.not-a-jwt");
  });

  it("follows a space: its history, then an entry produced from Node while the page waits", async () => {
    await node.produce(storeId, "feed", "a", records(1, 2, "a"));
    await node.produce(storeId, "feed", "b", records(1, 1, "b"));
    await page.evaluate(
      ({ storeId, bound }) => {
        const decoder = new TextDecoder();
        const followed: PageEntry[] = (window.followed = []);
        const read = window.client!.consumeSpace(storeId, { space: "feed", follow: true, signal: AbortSignal.timeout(bound) });
        void (async () => {
          try {
            for await (const entry of read) {
              followed.push({
                space: entry.space,
                segment: entry.segment,
                sequence: entry.sequence,
                text: decoder.decode(entry.payload),
                metadata: entry.metadata,
                offset: entry.offset,
                payloadIsBytes: entry.payload instanceof Uint8Array,
              });
              window.log(`followed ${entry.segment}:${entry.sequence} (${decoder.decode(entry.payload)})`);
              if (followed.length === 4) break;
            }
            window.followOutcome = "done";
          } catch (error) {
            window.followOutcome = String(error);
          }
        })();
      },
      { storeId, bound: BOUND_MS },
    );
    await page.waitForFunction(() => (window.followed?.length ?? 0) >= 3 || window.followOutcome !== undefined, undefined, { timeout: BOUND_MS });
    expect(await page.evaluate(() => window.followOutcome)).toBeUndefined();

    await node.publish(storeId, "feed", "a", bytes("live"));
    await page.waitForFunction(() => window.followOutcome !== undefined, undefined, { timeout: BOUND_MS });
    const { followed, outcome } = await page.evaluate(() => ({ followed: window.followed!, outcome: window.followOutcome }));
    expect(outcome).toBe("done");
    expect(followed.map((entry) => `${entry.segment}:${entry.sequence}:${entry.text}`)).toEqual(["a:1:a-1", "a:2:a-2", "b:1:b-1", "a:3:live"]);
    const fromNode = await collect(node.consumeSpace(storeId, { space: "feed" }));
    expect(followed.map((entry) => entry.offset)).toEqual(fromNode.map((entry) => entry.offset));
  });

  it("subscribes to a segment's status: a snapshot, then a live update", async () => {
    await node.produce(storeId, "orders", "order-2", records(1, 2));
    await page.evaluate(
      async ({ storeId, bound }) => {
        const statuses: NonNullable<Window["statuses"]> = (window.statuses = []);
        window.subscription = await window.client!.subscribeToSegment(
          storeId,
          "orders",
          "order-2",
          (status) => {
            statuses.push(status);
            window.log(`status of ${status.segment}: last sequence ${status.lastSequence}`);
          },
          { signal: AbortSignal.timeout(bound) },
        );
      },
      { storeId, bound: BOUND_MS },
    );
    await page.waitForFunction(() => (window.statuses?.length ?? 0) >= 1, undefined, { timeout: BOUND_MS });
    const snapshot = await page.evaluate(() => window.statuses![0]!);
    expect(snapshot).toMatchObject({ space: "orders", segment: "order-2", firstSequence: 1, lastSequence: 2 });

    await node.publish(storeId, "orders", "order-2", bytes("live"));
    await page.waitForFunction(() => window.statuses!.some((status) => status.lastSequence === 3), undefined, { timeout: BOUND_MS });
    const closedWith = await page.evaluate(async () => {
      const subscription = window.subscription!;
      await subscription.unsubscribe();
      const closed = await subscription.closed;
      return closed === undefined ? "unsubscribed" : String(closed);
    });
    expect(closedWith).toBe("unsubscribed");
    const heads = await page.evaluate(() => window.statuses!.map((status) => status.lastSequence));
    expect(heads).toEqual([...heads].sort((a, b) => a - b));
    expect(heads.at(-1)).toBe(3);
  });
});
