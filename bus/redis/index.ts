export { createRedisBusFactory, type RedisBus, type RedisBusFactory } from "./redis-bus.js";
export type { RedisBusOptions } from "./options.js";
