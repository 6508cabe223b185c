import { readdirSync, readFileSync } from "node:fs";

/**
 * The process's file descriptors, read from /proc on Linux (undefined elsewhere): the soft limit and
 * how many are open now. Stores, sockets and files all draw on the same limit (docs/tenants.md).
 */
export function descriptorLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((row) => row.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined) return undefined;
    if (soft === "unlimited") return Number.MAX_SAFE_INTEGER;
    const value = Number(soft);
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Descriptors open right now (the directory listing's own descriptor is not counted). */
export function openDescriptors(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return undefined;
  }
}

/** The default cap on open stores when a store holds none of its own: memory, not descriptors, bounds it. */
export const MAX_DEFAULT_OPEN_STORES = 10_000;

/**
 * The default `maxOpenStores`: half the descriptor limit (the other half is for connections and
 * everything else) divided by what one open store holds, at most MAX_DEFAULT_OPEN_STORES, at least 1.
 */
export function defaultMaxOpenStores(limit: number | undefined, descriptorsPerStore: number): number {
  if (limit === undefined || descriptorsPerStore <= 0) return MAX_DEFAULT_OPEN_STORES;
  return Math.max(1, Math.min(MAX_DEFAULT_OPEN_STORES, Math.floor(limit / 2 / descriptorsPerStore)));
}
