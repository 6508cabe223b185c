export { createMemoryBusFactory, type MemoryBusOptions } from "./memory-bus.js";
