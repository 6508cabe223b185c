import { access, constants } from "node:fs/promises";
import { type BrowserContext, chromium } from "playwright-core";

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Test tools' own browser downloads do not work here. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
export async function chromiumMissing(): Promise<string | undefined> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium; .ci/run installs it)`;
  }
}

/** Launches headless Chromium with a fresh profile in `profileDir` (an empty temp dir); one launch per test file. */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  const missing = await chromiumMissing();
  if (missing !== undefined) throw new Error(`cannot launch Chromium: ${missing}`);
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 640 },
  });
}
