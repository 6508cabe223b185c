// The memory backends' conformance suites under node:test, with no vitest anywhere in the process:
// run by node-test.test.ts as `node --import tsx --import ./no-vitest.mjs --test` on this file.
import { afterEach, beforeEach, describe, it } from "node:test";
import { runBusConformance } from "../../bus/conformance/index.js";
import { createMemoryBusFactory } from "../../bus/memory/index.js";
import { runStoreConformance } from "../../store/conformance/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";

const nodeTest = { describe, it, beforeEach, afterEach };
await runStoreConformance(nodeTest, "memory", {
  createFactory: async (options) => createMemoryStoreFactory(options),
  // Each open makes its own store object (its own producer index) over the factory's data.
  shareFactory: async (factory) => factory,
});
runBusConformance(nodeTest, "memory", { createFactory: async () => createMemoryBusFactory() });
