import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { GROUPS, SETTINGS, type SettingEntry } from "./schema.js";
import type { Parsed } from "./settings.js";

/** A value and where it came from ("--port", "STREAMKIT_PORT", a file path, "default"). */
export interface Sourced {
  readonly value: unknown;
  readonly source: string;
}

/** What one source contributes: values by dotted path, and everything wrong with it. */
export interface Layer {
  readonly values: Map<string, Sourced>;
  readonly problems: string[];
}

const ENV_PREFIX = "STREAMKIT_";
/** Names the config file; read before the file itself, so it is not a setting. */
export const CONFIG_FILE_ENV = "STREAMKIT_CONFIG";
/** Read by the client verbs and the test suite, not by serve; no warning for them. */
const OTHER_TOOLS_ENV = ["STREAMKIT_URL", "STREAMKIT_TOKEN", "STREAMKIT_STORE_ID", "STREAMKIT_POSTGRES_URL"];

const byPath = new Map(SETTINGS.map((entry) => [entry.path, entry]));
const byFlag = new Map(SETTINGS.map((entry) => [entry.flag, entry]));

export const problemAt = (path: string, problem: string, source: string): string => `${path}: ${problem} (from ${source})`;

function store(layer: Layer, entry: SettingEntry, parsed: Parsed<unknown>, source: string): void {
  if (parsed.ok) layer.values.set(entry.path, { value: parsed.value, source });
  else layer.problems.push(problemAt(entry.path, parsed.problem, source));
}

const emptyLayer = (): Layer => ({ values: new Map(), problems: [] });

export function defaultsLayer(): Layer {
  const layer = emptyLayer();
  for (const entry of SETTINGS) layer.values.set(entry.path, { value: entry.setting.defaultValue, source: "default" });
  return layer;
}

/**
 * Reads a JSON-shaped object (a config file's content or programmatic options). Keys not in the
 * schema are problems; `undefined` values count as absent.
 */
export function objectLayer(input: unknown, source: string): Layer {
  const layer = emptyLayer();
  const visit = (object: unknown, prefix: string): void => {
    if (typeof object !== "object" || object === null || Array.isArray(object)) {
      layer.problems.push(`${prefix === "" ? "configuration" : prefix.slice(0, -1)}: must be an object (from ${source})`);
      return;
    }
    for (const [key, value] of Object.entries(object)) {
      if (value === undefined) continue;
      const path = prefix + key;
      const entry = byPath.get(path);
      if (entry !== undefined) store(layer, entry, entry.setting.fromJson(value), source);
      else if (prefix === "" && GROUPS.has(key)) visit(value, `${path}.`);
      else layer.problems.push(`${path}: unknown key (from ${source})`);
    }
  };
  visit(input, "");
  return layer;
}

/** Reads and parses the JSON config file; a missing or malformed file is a problem, not a throw. */
export async function fileLayer(file: Sourced & { value: string }): Promise<Layer> {
  const path = resolve(file.value);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return { values: new Map(), problems: [`config: cannot read ${path}: ${(error as Error).message} (from ${file.source})`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { values: new Map(), problems: [`config: ${path} is not valid JSON: ${(error as Error).message}`] };
  }
  return objectLayer(json, path);
}

/** `STREAMKIT_*` variables; an empty variable counts as unset. */
export function envLayer(env: NodeJS.ProcessEnv): Layer & { unknown: string[] } {
  const layer = emptyLayer();
  const known = new Set([CONFIG_FILE_ENV, ...OTHER_TOOLS_ENV]);
  for (const entry of SETTINGS) {
    known.add(entry.env);
    const text = env[entry.env];
    if (text !== undefined && text !== "") store(layer, entry, entry.setting.fromText(text), entry.env);
  }
  const unknown = Object.keys(env).filter((name) => name.startsWith(ENV_PREFIX) && !known.has(name));
  return { ...layer, unknown };
}

export interface FlagLayer extends Layer {
  readonly configFile: (Sourced & { value: string }) | undefined;
}

const flagTokens = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries(SETTINGS.map((entry) => [entry.flag, { type: "string" as const }])),
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  }).tokens;

/** Whether the arguments ask for help (`--help` or `-h`), whatever else they hold. */
export function wantsHelp(argv: readonly string[]): boolean {
  return flagTokens(argv).some((token) => token.kind === "option" && token.name === "help");
}

/** Command-line flags (`--port 8080` or `--port=8080`); unknown flags and stray arguments are problems. */
export function flagLayer(argv: readonly string[]): FlagLayer {
  const layer = emptyLayer();
  let configFile: FlagLayer["configFile"];
  for (const token of flagTokens(argv)) {
    if (token.kind === "positional") {
      layer.problems.push(`unexpected argument ${JSON.stringify(token.value)}`);
      continue;
    }
    if (token.kind !== "option" || token.name === "help") continue;
    const entry = byFlag.get(token.name);
    if (entry === undefined && token.name !== "config") {
      layer.problems.push(`unknown flag ${token.rawName}`);
      continue;
    }
    // Without strict mode parseArgs takes the next flag as the value of one left without a value.
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith("--"))) {
      layer.problems.push(`${token.rawName}: needs a value`);
      continue;
    }
    const source = `--${token.name}`;
    if (entry === undefined) configFile = { value, source };
    else store(layer, entry, entry.setting.fromText(value), source);
  }
  return { ...layer, configFile };
}
