import type { FlagSpecs } from "./args.js";

export interface HelpText {
  /** After `Usage: streamkit `, e.g. `peek <space> <segment> [flags]`. */
  readonly usage: string;
  /** Paragraph lines under the usage line. */
  readonly about: readonly string[];
  readonly flags: FlagSpecs;
  readonly examples?: readonly string[];
}

const HELP_FLAG = "-h, --help";

/** A verb's `--help`: usage, what it does, each flag with its variable, examples. */
export function verbHelp(help: HelpText): string {
  const rows = Object.entries(help.flags).map(([name, spec]) => {
    const short = spec.short === undefined ? "" : `-${spec.short}, `;
    const value = spec.type === "string" ? ` ${spec.value ?? "<value>"}` : "";
    const repeat = spec.multiple ? " (repeatable)" : "";
    return [`${short}--${name}${value}`, spec.env ?? "", `${spec.description}${repeat}`];
  });
  rows.push([HELP_FLAG, "", "Show this help."]);
  const flagWidth = Math.max(...rows.map(([flag]) => flag!.length));
  const envWidth = Math.max(...rows.map(([, env]) => env!.length));
  const lines = rows.map(([flag, env, text]) => `  ${flag!.padEnd(flagWidth)}  ${env!.padEnd(envWidth)}  ${text}`.trimEnd());
  const examples = help.examples ?? [];
  return [
    `Usage: streamkit ${help.usage}`,
    "",
    ...help.about,
    "",
    "Flags and environment variables:",
    ...lines,
    ...(examples.length === 0 ? [] : ["", "Examples:", ...examples.map((example) => `  ${example}`)]),
    "",
    "Exit codes: 0 ok, 1 failure (server unreachable, an error from the server), 2 bad arguments or input.",
    "",
  ].join("\n");
}
