import type { Logger } from "../logger.js";

/**
 * The one options toolkit of the factories and servers: merge defaults, drop keys set to undefined,
 * and check values. A bad option is a programmer's mistake, so every check throws a TypeError naming it.
 */

/** `options` without the keys whose value is undefined (an explicit undefined keeps the default). */
export function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** `defaults` overridden by what `options` sets. */
export function withDefaults<T extends object>(defaults: T, options: Partial<T> | undefined): T {
  return { ...defaults, ...definedOnly(options ?? {}) };
}

export function isPlainObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function requireObject(value: unknown, name: string): asserts value is { [key: string]: unknown } {
  if (!isPlainObject(value)) throw new TypeError(`${name} must be an object`);
}

export function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be an integer >= 1, got ${String(value)}`);
  return value;
}

export function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be an integer >= 0, got ${String(value)}`);
  return value;
}

/** Checks that `value` has every method of `methods`. */
export function requireMethods(value: unknown, name: string, methods: readonly string[]): void {
  const target = value as { [key: string]: unknown } | null | undefined;
  if (typeof target !== "object" || target === null || methods.some((method) => typeof target[method] !== "function")) {
    throw new TypeError(`${name} must have ${methods.join(", ")}`);
  }
}

/** A logger option: the given one, checked, or `fallback` when absent. */
export function checkLogger(value: unknown, fallback: Logger): Logger {
  if (value === undefined) return fallback;
  requireMethods(value, "logger", ["debug", "info", "warn", "error"]);
  return value as Logger;
}
