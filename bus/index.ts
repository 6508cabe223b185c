export type { Bus, BusFactory, BusHandler, BusStats, ObservableBus } from "./types.js";
export { AbstractBus } from "./abstract-bus.js";
export { createMemoryBusFactory, type MemoryBusOptions } from "./memory/index.js";
