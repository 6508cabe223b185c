import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "streamkit-ts/client";
import { signToken } from "streamkit-ts/server";
import { createWsProvider } from "streamkit-ts/transport/ws";
import { bundleBrowserSdk } from "../../test/browser/bundle.js";
import { launchChromium } from "../../test/browser/chromium.js";
import { startLocalServer } from "../shared/local-server.js";
import { runExample, smoke, untilInterrupted } from "../shared/run.js";
import { servePage } from "./page-server.js";
import { type Producer, startProducer } from "./producer.js";

const SPACE = "prices";
/** Ticks the smoke run wants the page to receive live, after it already shows history. */
const LIVE_TICKS = 3;
const WAIT_MS = 20_000;

/** Opens the page in headless Chromium and checks that entries published after it showed its history arrive live. */
async function checkInBrowser(url: string, producer: Producer): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), "streamkit-browser-follow-"));
  const browser = await launchChromium(profile);
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(url, { timeout: WAIT_MS });
    const tickNumbers = () => page.$$eval("#entries tr", (rows) => rows.map((row) => Number((row as HTMLElement).dataset.n)));
    await page.waitForSelector("#entries tr", { timeout: WAIT_MS }).catch((error: unknown) => {
      throw new Error(`the page shows no entry (page errors: ${pageErrors.join("; ") || "none"})`, { cause: error });
    });
    // The page already shows entries. Tick `published + 1` may be in flight; every later one is
    // published from now on, so the page can only get it while following.
    const mark = producer.published + 1;
    const newestShown = (least: number) => Number(document.querySelector<HTMLElement>("#entries tr")?.dataset.n) >= least;
    await page.waitForFunction(newestShown, mark + LIVE_TICKS, { timeout: WAIT_MS });
    // Newest first: the newest tick down to 1, with no gap and no duplicate (more may have arrived meanwhile).
    const ticks = await tickNumbers();
    const expected = Array.from({ length: ticks[0] ?? 0 }, (_, i) => ticks.length - i);
    if (ticks.length < mark + LIVE_TICKS || ticks.join() !== expected.join()) throw new Error(`the page shows ticks ${ticks.join()}`);
    const state = await page.textContent("#status");
    console.log(`browser page received ${LIVE_TICKS} live entries (ticks ${mark + 1}..${mark + LIVE_TICKS}) after its history; ticks 1..${ticks.length} in order, none missing (client ${state})`);
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}

runExample(async () => {
  const secret = randomBytes(32).toString("base64url");
  const server = await startLocalServer({ auth: { jwtSecret: secret } });
  const storeId = randomUUID();
  const producerClient = createClient(
    createWsProvider(server.wsUrl, { token: await signToken({ secret, scopes: [`streamkit::${storeId}`], subject: "price-feed", ttlSec: 3600 }) }),
  );
  const producer = startProducer(producerClient, storeId, SPACE, smoke ? 200 : 1_000);
  const site = await servePage(
    {
      html: await readFile(new URL("index.html", import.meta.url), "utf8"),
      sdk: (await bundleBrowserSdk({ minify: true })).code,
      config: { wsUrl: server.wsUrl, storeId, space: SPACE },
      // Read-only, one store, short-lived: the provider fetches a fresh one before it expires.
      token: () => signToken({ secret, scopes: [`streamkit::${storeId}:read`], subject: "price-page", ttlSec: 600 }),
    },
    smoke ? 0 : Number(process.env.PORT ?? 0),
  );
  try {
    if (smoke) {
      await checkInBrowser(`${site.url}/`, producer);
    } else {
      console.log(`open ${site.url}/ in a browser: it follows the "${SPACE}" space live (a tick is published every second)`);
      console.log("Ctrl-C to stop");
      await untilInterrupted();
    }
  } finally {
    await producer.stop();
    await producerClient.close();
    await site.close();
    await server.close();
  }
});
