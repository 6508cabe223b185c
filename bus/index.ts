export type { Bus, BusFactory, BusHandler, BusStats } from "./types.js";
export { createMemoryBusFactory, type MemoryBusOptions } from "./memory/index.js";
