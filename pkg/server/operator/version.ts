import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "streamkit-ts";
/** From pkg/server/operator (source) or dist/pkg/server/operator (built), the package root is 3 or 4 levels up. */
const MAX_LEVELS = 5;

let cached: string | undefined;

/** This package's version, from its package.json (read once); "unknown" if it cannot be found. */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  cached = "unknown";
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < MAX_LEVELS; level++) {
    dir = dirname(dir);
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === "string") {
        cached = manifest.version;
        break;
      }
    } catch {
      // No readable package.json at this level: keep climbing.
    }
  }
  return cached;
}
