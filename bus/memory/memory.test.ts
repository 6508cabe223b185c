import { runBusConformance } from "../conformance/index.js";
import { createMemoryBusFactory } from "./index.js";

runBusConformance("memory", { features: { crossInstance: true }, createFactory: async () => createMemoryBusFactory() });
