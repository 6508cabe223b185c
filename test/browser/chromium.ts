import { createReadStream, createWriteStream } from "node:fs";
import { access, chmod, constants, mkdir, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";
import { type BrowserContext, chromium } from "playwright-core";

/**
 * The browser for the browser tests comes from the npm registry: `@sparticuz/chromium` ships a
 * brotli-packed headless Chromium (linux x64) inside its tarball, so `npm install` is all a fresh
 * machine needs (docs/browser.md). We unpack it once per install under node_modules/.cache rather
 * than with the package's own helper, which unpacks to a fixed path in the shared temp dir that
 * concurrent test files would race on.
 */
const PACKAGE = "@sparticuz/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--no-zygote",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

interface Located {
  readonly packed: string;
  readonly binary: string;
}

async function locate(): Promise<Located> {
  const entry = createRequire(import.meta.url).resolve(PACKAGE);
  const root = join(dirname(entry), "..");
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
  const cache = join(root, "..", "..", ".cache", "streamkit-chromium", version);
  return { packed: join(root, "bin", "chromium.br"), binary: join(cache, "chromium") };
}

/** Unpacks the binary next to its final path, then renames it there: concurrent callers never run a half-written file. */
async function unpack({ packed, binary }: Located): Promise<void> {
  await mkdir(dirname(binary), { recursive: true });
  const partial = `${binary}.${process.pid}.${crypto.randomUUID()}.partial`;
  try {
    await pipeline(createReadStream(packed), createBrotliDecompress(), createWriteStream(partial));
    await chmod(partial, 0o755);
    await rename(partial, binary);
  } finally {
    await rm(partial, { force: true });
  }
}

let ready: Promise<string> | undefined;

/** The path of the unpacked Chromium binary, unpacking it on first use. */
export function chromiumPath(): Promise<string> {
  ready ??= (async () => {
    if (process.platform !== "linux" || process.arch !== "x64") {
      throw new Error(`${PACKAGE} ships Chromium for linux x64 only (this is ${process.platform} ${process.arch})`);
    }
    const located = await locate();
    try {
      await access(located.binary, constants.X_OK);
    } catch {
      await unpack(located);
    }
    return located.binary;
  })();
  return ready;
}

/** Why the browser tests cannot run here, or undefined when Chromium is available. */
export async function chromiumMissing(): Promise<string | undefined> {
  try {
    await chromiumPath();
    return undefined;
  } catch (error) {
    return `no Chromium from ${PACKAGE}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Launches headless Chromium with a fresh profile in `profileDir` (an empty temp dir); one launch per test file. */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: await chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 640 },
  });
}
