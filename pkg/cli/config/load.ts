import { StreamsError } from "../../api/index.js";
import { checkConfig } from "./checks.js";
import { SETTINGS, type AuthConfig, type LimitsConfig, type ServeConfig } from "./schema.js";
import { CONFIG_FILE_ENV, defaultsLayer, envLayer, fileLayer, flagLayer, type Layer, objectLayer, type Sourced } from "./sources.js";

/** A configuration that cannot run; `problems` names each one with where its value came from. */
export class ConfigError extends StreamsError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super("invalid_argument", `invalid configuration:\n${problems.map((problem) => `  ${problem}`).join("\n")}`, {
      details: { problems },
    });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A partial config as code passes it: anything left out takes its default. */
export type ServeConfigInput = Partial<Omit<ServeConfig, "auth" | "limits">> & {
  auth?: Partial<AuthConfig>;
  limits?: Partial<LimitsConfig>;
};

export interface LoadedConfig {
  readonly config: ServeConfig;
  /** Where each key's value came from, by dotted path. */
  readonly sources: ReadonlyMap<string, Sourced>;
  /** Not fatal: `STREAMKIT_*` variables no key reads (other commands may use them). */
  readonly warnings: readonly string[];
}

/** Later layers win; problems of every layer are kept, overridden or not. */
async function merge(layers: readonly Layer[]): Promise<{ config: ServeConfig; sources: Map<string, Sourced> }> {
  const sources = new Map<string, Sourced>();
  for (const layer of layers) for (const [path, sourced] of layer.values) sources.set(path, sourced);
  const problems = layers.flatMap((layer) => layer.problems);
  const tree: Record<string, Record<string, unknown>> = { "": {} };
  for (const { path } of SETTINGS) {
    const [group, key] = path.includes(".") ? path.split(".", 2) : ["", path];
    tree[group!] ??= {};
    tree[group!]![key!] = sources.get(path)?.value;
  }
  const { "": topLevel, ...groups } = tree;
  // Every leaf was set from its Setting, whose type SERVE_SCHEMA ties to ServeConfig.
  const config = { ...topLevel, ...groups } as unknown as ServeConfig;
  problems.push(...(await checkConfig(config, sources)));
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, sources };
}

/**
 * The `serve` configuration from, in rising precedence: defaults, the JSON file named by `--config`
 * or `STREAMKIT_CONFIG`, `STREAMKIT_*` variables, flags. Throws ConfigError naming every problem.
 * Relative paths, in any source, are relative to the working directory.
 */
export async function loadConfig(input: { argv: readonly string[]; env: NodeJS.ProcessEnv }): Promise<LoadedConfig> {
  const flags = flagLayer(input.argv);
  const env = envLayer(input.env);
  const envFile = input.env[CONFIG_FILE_ENV];
  const configFile = flags.configFile ?? (envFile ? { value: envFile, source: CONFIG_FILE_ENV } : undefined);
  const file = configFile === undefined ? undefined : await fileLayer(configFile);
  const layers = [defaultsLayer(), ...(file === undefined ? [] : [file]), env, flags];
  const { config, sources } = await merge(layers);
  const warnings = env.unknown.map((name) => `${name}: not a setting of serve; ignored`);
  return { config, sources, warnings };
}

/** Defaults completed by `input`, validated like a config file. Throws ConfigError naming every problem. */
export async function resolveConfig(input: ServeConfigInput, source = "startServer options"): Promise<ServeConfig> {
  return (await merge([defaultsLayer(), objectLayer(input, source)])).config;
}
