import { choiceFlag, type FlagSpec } from "./args.js";

const OUTPUT_FORMATS = ["auto", "json", "table"] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const OUTPUT_FLAGS = {
  output: { type: "string", short: "o", value: "auto|json|table", description: "auto (default): a table on a terminal, JSON otherwise." },
} as const satisfies Record<string, FlagSpec>;

/** Whether to print a table: asked for, or `auto` with stdout on a terminal. */
export function wantsTable(value: string | undefined, stdoutIsTty: boolean): boolean {
  const format: OutputFormat = choiceFlag(value, "output", OUTPUT_FORMATS, "auto");
  return format === "table" || (format === "auto" && stdoutIsTty);
}
