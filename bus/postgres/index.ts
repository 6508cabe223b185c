export { createPostgresBusFactory, type PostgresBus, type PostgresBusFactory } from "./postgres-bus.js";
export type { PostgresBusOptions } from "./options.js";
