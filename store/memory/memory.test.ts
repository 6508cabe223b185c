import { afterEach, beforeEach, describe, it } from "vitest";
import { runStoreConformance } from "../conformance/index.js";
import { createMemoryStoreFactory } from "./index.js";

await runStoreConformance({ describe, it, beforeEach, afterEach }, "memory", {
  createFactory: async (options) => createMemoryStoreFactory(options),
  // Each open makes its own store object (its own producer index) over the factory's data.
  shareFactory: async (factory) => factory,
});
