export { createMemoryBusFactory } from "./memory-bus.js";
