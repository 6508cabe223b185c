import { afterEach, beforeEach, describe, it } from "vitest";
import { runStoreConformance } from "../conformance/index.js";
import { createMemoryStoreFactory } from "./index.js";

await runStoreConformance({ describe, it, beforeEach, afterEach }, "memory", { createFactory: async (options) => createMemoryStoreFactory(options) });
