/** The outcome of reading one value: the typed value or what is wrong with it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * One configuration key: how to read it from text (environment, flags) and from JSON (config file,
 * programmatic options), its default and its documentation.
 */
export interface Setting<T> {
  /** What a valid value looks like, for messages and help ("an integer 0-65535"). */
  readonly expected: string;
  readonly defaultValue: T;
  readonly description: string;
  /** Never echo the value (secrets). */
  readonly secret: boolean;
  fromText(text: string): Parsed<T>;
  fromJson(value: unknown): Parsed<T>;
}

interface Common {
  description: string;
  secret?: boolean;
}

const accept = <T>(value: T): Parsed<T> => ({ ok: true, value });

function rejection<T>(setting: { expected: string; secret: boolean }, value: unknown): Parsed<T> {
  const shown = setting.secret ? "" : `, got ${JSON.stringify(value) ?? String(value)}`;
  return { ok: false, problem: `must be ${setting.expected}${shown}` };
}

/** A string, optionally with a further check returning what is wrong, if anything. */
export function text(
  options: Common & { defaultValue: string; check?: (value: string) => string | undefined },
): Setting<string>;
export function text(
  options: Common & { defaultValue?: undefined; check?: (value: string) => string | undefined },
): Setting<string | undefined>;
export function text(
  options: Common & { defaultValue?: string; check?: (value: string) => string | undefined },
): Setting<string | undefined> {
  const setting: Setting<string | undefined> = {
    expected: "a non-empty string",
    defaultValue: options.defaultValue,
    description: options.description,
    secret: options.secret ?? false,
    fromText(value) {
      if (value === "") return rejection(setting, value);
      const problem = options.check?.(value);
      return problem === undefined ? accept(value) : { ok: false, problem };
    },
    fromJson(value) {
      return typeof value === "string" ? setting.fromText(value) : rejection(setting, value);
    },
  };
  return setting;
}

/** An integer within [min, max]. */
export function integer(options: Common & { defaultValue: number; min: number; max: number }): Setting<number>;
export function integer(options: Common & { defaultValue?: undefined; min: number; max: number }): Setting<number | undefined>;
export function integer(options: Common & { defaultValue?: number; min: number; max: number }): Setting<number | undefined> {
  const inRange = (value: number): boolean => Number.isSafeInteger(value) && value >= options.min && value <= options.max;
  const setting: Setting<number | undefined> = {
    expected: `an integer ${options.min}-${options.max}`,
    defaultValue: options.defaultValue,
    description: options.description,
    secret: options.secret ?? false,
    fromText(value) {
      if (!/^-?\d+$/.test(value.trim())) return rejection(setting, value);
      const parsed = Number(value.trim());
      return inRange(parsed) ? accept(parsed) : rejection(setting, value);
    },
    fromJson(value) {
      return typeof value === "number" && inRange(value) ? accept(value) : rejection(setting, value);
    },
  };
  return setting;
}

/** One of a fixed list of strings. */
export function oneOf<const T extends string>(options: Common & { values: readonly T[]; defaultValue: T }): Setting<T> {
  const isMember = (value: unknown): value is T => typeof value === "string" && (options.values as readonly string[]).includes(value);
  const setting: Setting<T> = {
    expected: `one of ${options.values.join(", ")}`,
    defaultValue: options.defaultValue,
    description: options.description,
    secret: options.secret ?? false,
    fromText: (value) => (isMember(value) ? accept(value) : rejection(setting, value)),
    fromJson: (value) => (isMember(value) ? accept(value) : rejection(setting, value)),
  };
  return setting;
}

/** `true`, `false` or `"auto"` (decided at run time). */
export function switchOrAuto(options: Common & { defaultValue: boolean | "auto" }): Setting<boolean | "auto"> {
  const setting: Setting<boolean | "auto"> = {
    expected: "true, false or auto",
    defaultValue: options.defaultValue,
    description: options.description,
    secret: options.secret ?? false,
    fromText(value) {
      if (value === "true") return accept(true);
      if (value === "false") return accept(false);
      if (value === "auto") return accept("auto");
      return rejection(setting, value);
    },
    fromJson(value) {
      return typeof value === "boolean" || value === "auto" ? accept(value) : rejection(setting, value);
    },
  };
  return setting;
}

/** An absolute http(s) URL. */
export function httpUrl(options: Common): Setting<string | undefined> {
  const expected = "an http(s) URL";
  const isHttpUrl = (value: string): boolean => URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol);
  const setting = text({
    ...options,
    check: (value) => (isHttpUrl(value) ? undefined : `must be ${expected}, got ${JSON.stringify(value)}`),
  });
  return { ...setting, expected };
}
