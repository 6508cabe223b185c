import { CONFIG_FILE_ENV, SETTINGS } from "./config/index.js";

const formatDefault = (value: unknown): string => (value === undefined ? "" : ` (default ${JSON.stringify(value)})`);

/** `streamkit serve --help`: every flag with its variable, default and meaning, from the schema. */
export function serveHelp(): string {
  const rows = [
    [`--config <file>`, CONFIG_FILE_ENV, "JSON config file; its keys nest as auth.* and limits.*"],
    ...SETTINGS.map(({ flag, env, setting }) => [
      `--${flag} <value>`,
      env,
      `${setting.description}${formatDefault(setting.secret ? undefined : setting.defaultValue)}`,
    ]),
    ["-h, --help", "", "Show this help."],
  ];
  const flagWidth = Math.max(...rows.map(([flag]) => flag!.length));
  const envWidth = Math.max(...rows.map(([, env]) => env!.length));
  const lines = rows.map(([flag, env, text]) => `  ${flag!.padEnd(flagWidth)}  ${env!.padEnd(envWidth)}  ${text}`);
  return [
    "Usage: streamkit serve [flags]",
    "",
    "Runs the Streamkit server: WebSocket endpoint /streamz, /healthz and /readyz on one HTTP server.",
    "Precedence, lowest first: defaults, the --config JSON file, STREAMKIT_* variables, flags.",
    "SIGINT/SIGTERM stop it gracefully (exit 0); a second signal or shutdownTimeoutMs forces exit 1.",
    "",
    "Flags and environment variables:",
    ...lines,
    "",
  ].join("\n");
}

export interface Verb {
  readonly summary: string;
  readonly help: () => string;
  /** Runs the verb with the arguments after it; resolves to the exit code. */
  readonly run: (argv: readonly string[]) => Promise<number>;
}

/** `streamkit --help`. */
export function mainHelp(verbs: Readonly<Record<string, Verb>>): string {
  const width = Math.max(...Object.keys(verbs).map((name) => name.length));
  return [
    "Usage: streamkit <command> [flags]",
    "",
    "Commands:",
    ...Object.entries(verbs).map(([name, verb]) => `  ${name.padEnd(width)}  ${verb.summary}`),
    "",
    "Run `streamkit <command> --help` (or `streamkit help <command>`) for a command's flags;",
    "`streamkit --version` prints the version.",
    "",
  ].join("\n");
}
