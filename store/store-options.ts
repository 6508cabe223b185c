import type { StoreOptions } from "./types.js";

/** The StoreOptions of a factory's options, checked; a factory passes them to every store it opens. */
export function checkStoreOptions(options: StoreOptions): StoreOptions {
  const { maxProducers } = options;
  if (maxProducers === undefined) return {};
  if (typeof maxProducers !== "number" || !Number.isSafeInteger(maxProducers) || maxProducers < 1) {
    throw new TypeError(`maxProducers must be an integer >= 1, got ${String(maxProducers)}`);
  }
  return { maxProducers };
}
