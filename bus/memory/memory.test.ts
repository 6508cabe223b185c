import { afterEach, beforeEach, describe, it } from "vitest";
import { runBusConformance } from "../conformance/index.js";
import { createMemoryBusFactory } from "./index.js";

runBusConformance({ describe, it, beforeEach, afterEach }, "memory", { createFactory: async () => createMemoryBusFactory() });
