import { parseArgs } from "node:util";

/** Bad arguments or input: the verb prints the message and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag of a verb: how parseArgs reads it and how `--help` shows it. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  /** May be given several times; the value is then a list. */
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder in `--help` (`<offset|sequence>`). */
  readonly value?: string;
  /** Read when the flag is absent (an empty variable counts as unset). */
  readonly env?: string;
  readonly description: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type ValueOf<S extends FlagSpec> = S["type"] extends "boolean" ? boolean : S["multiple"] extends true ? string[] : string | undefined;

/** What a verb's flags parse to: lists for `multiple`, booleans default to false. */
export type FlagValues<T extends FlagSpecs> = { -readonly [K in keyof T]: ValueOf<T[K]> };

export interface ParsedArgs<T extends FlagSpecs> {
  readonly flags: FlagValues<T>;
  readonly positionals: readonly string[];
  /** Flags whose value came from their environment variable. */
  readonly fromEnv: ReadonlySet<keyof T>;
}

/** A verb's positional arguments by name, the first `min` of them required. */
export interface Positionals {
  readonly names: readonly string[];
  readonly min: number;
}

/** Whether the arguments ask for help (before a `--`), whatever else they hold. */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/**
 * Strict parse of a verb's arguments (unknown flags, missing values and stray or missing
 * positionals are UsageErrors); string flags fall back to their environment variable.
 */
export function parseVerbArgs<const T extends FlagSpecs>(
  argv: readonly string[],
  specs: T,
  positionals: Positionals,
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs<T> {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false, ...(spec.short ? { short: spec.short } : {}) }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const given = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  const flags: Record<string, unknown> = {};
  const fromEnv = new Set<keyof T>();
  for (const [name, spec] of Object.entries(specs)) {
    const value = given[name];
    const envValue = spec.env === undefined || env[spec.env] === "" ? undefined : env[spec.env];
    const useEnv = value === undefined && envValue !== undefined && spec.type === "string";
    if (useEnv) fromEnv.add(name);
    if (spec.type === "boolean") flags[name] = value === true;
    else if (spec.multiple) flags[name] = useEnv ? [envValue] : (value ?? []);
    else flags[name] = value ?? envValue;
  }
  const count = parsed.positionals.length;
  const { names, min } = positionals;
  if (count < min) throw new UsageError(`missing ${names.slice(count, min).map((name) => `<${name}>`).join(" ")}`);
  if (count > names.length) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[names.length])}`);
  // Each flag was read by its spec above, which is what FlagValues<T> describes.
  return { flags: flags as FlagValues<T>, positionals: parsed.positionals, fromEnv };
}

/** A whole number within [min, max], or a UsageError naming the flag. */
export function integerFlag(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`--${flag}: must be an integer ${min}-${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** One of a fixed list of words, or a UsageError naming the flag. */
export function choiceFlag<const C extends string>(value: string | undefined, flag: string, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag}: must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as C;
}
