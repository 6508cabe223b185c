import { runStoreConformance } from "../conformance/index.js";
import { createMemoryStoreFactory } from "./index.js";

runStoreConformance("memory", { features: { reopen: true, durable: false, lifecycle: true }, createFactory: async (options) => createMemoryStoreFactory(options) });
