import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "vitest";
import type { StoreFactory, StoreOptions } from "../types.js";
import { runStoreConformance, type StoreHarness } from "../conformance/index.js";
import { createLevelStoreFactory, type LevelLayout } from "./index.js";

/** Each factory gets a fresh temp data directory; a reopened factory shares it, and disposing removes it. */
function levelHarness(layout: LevelLayout): StoreHarness {
  const dirs = new Map<StoreFactory, string>();
  const make = (dataDir: string, options: StoreOptions = {}): StoreFactory => {
    const factory = createLevelStoreFactory({ dataDir, nodeId: "conformance", layout, ...options });
    dirs.set(factory, dataDir);
    return factory;
  };
  return {
    createFactory: async (options) => make(await mkdtemp(join(tmpdir(), "streamkit-level-")), options),
    reopenFactory: async (factory) => make(dirs.get(factory) as string),
    disposeFactory: async (factory) => {
      const dir = dirs.get(factory) as string;
      dirs.delete(factory);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const vitest = { describe, it, beforeEach, afterEach };
await runStoreConformance(vitest, "level", levelHarness("shared"));
await runStoreConformance(vitest, "level per-store", levelHarness("per-store"));
