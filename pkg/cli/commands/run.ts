import { StreamsError } from "../../api/index.js";
import { ConfigError } from "../config/index.js";
import type { Verb } from "../help.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../exit-codes.js";
import { asksForHelp, type FlagSpecs, type ParsedArgs, parseVerbArgs, type Positionals, UsageError } from "./args.js";
import { type HelpText, verbHelp } from "./help-text.js";
import { writeText } from "./output.js";

/** Why a verb's signal was aborted by the process around it. */
const INTERRUPTED = new StreamsError("cancelled", "interrupted");
const STDOUT_CLOSED = new StreamsError("cancelled", "stdout closed");

export interface VerbContext {
  /** Aborted on SIGINT, when stdout's reader goes away, or through `abort`. */
  readonly signal: AbortSignal;
  /** Ends the verb with `reason` (reported as its failure). */
  abort(reason: StreamsError): void;
  /** Whether SIGINT ended the verb. */
  readonly interrupted: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly stdoutIsTty: boolean;
  readonly stderrIsTty: boolean;
  /** Writes to stdout, honouring back-pressure. */
  out(text: string): Promise<void>;
  /** A line on stderr prefixed with the verb's name. */
  note(message: string): void;
}

export interface VerbDefinition<T extends FlagSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly help: HelpText;
  readonly flags: T;
  readonly positionals: Positionals;
  /** Resolves to the exit code; throws UsageError (2), StreamsError (1) or anything else (1). */
  run(args: ParsedArgs<T>, context: VerbContext): Promise<number>;
}

function formatFailure(error: unknown): string {
  if (error instanceof StreamsError) {
    const details = error.details === undefined ? "" : ` ${JSON.stringify(error.details)}`;
    return `${error.kind}: ${error.message}${details}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The failure to report: a call cancelled on behalf of a cause (a dial that gave up) reports the cause. */
function reportedError(error: unknown): unknown {
  if (error instanceof StreamsError && error.kind === "cancelled" && error.cause instanceof StreamsError) return error.cause;
  return error;
}

/** A Verb for main.ts: help, strict argument parsing, SIGINT, stdout closing, errors and exit codes. */
export function defineVerb<const T extends FlagSpecs>(definition: VerbDefinition<T>): Verb {
  const help = (): string => verbHelp(definition.help);
  const prefix = `streamkit ${definition.name}`;

  const run = async (argv: readonly string[]): Promise<number> => {
    if (asksForHelp(argv)) {
      process.stdout.write(help());
      return EXIT_OK;
    }
    const controller = new AbortController();
    let interrupted = false;
    const onSigint = (): void => {
      if (interrupted) process.exit(EXIT_FAILURE);
      interrupted = true;
      controller.abort(INTERRUPTED);
    };
    const onStdoutError = (error: NodeJS.ErrnoException): void => {
      controller.abort(error.code === "EPIPE" ? STDOUT_CLOSED : StreamsError.from(error, "internal"));
    };
    process.on("SIGINT", onSigint);
    process.stdout.on("error", onStdoutError);
    const context: VerbContext = {
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
      get interrupted() {
        return interrupted;
      },
      env: process.env,
      stdoutIsTty: process.stdout.isTTY === true,
      stderrIsTty: process.stderr.isTTY === true,
      out: (text) => writeText(process.stdout, text, controller.signal),
      note: (message) => process.stderr.write(`${prefix}: ${message}\n`),
    };
    try {
      const args = parseVerbArgs(argv, definition.flags, definition.positionals, process.env);
      return await definition.run(args, context);
    } catch (caught) {
      if (controller.signal.reason === STDOUT_CLOSED) return EXIT_OK;
      if (caught instanceof UsageError) {
        process.stderr.write(`${prefix}: ${caught.message}\nRun \`${prefix} --help\` for usage.\n`);
        return EXIT_USAGE;
      }
      if (caught instanceof ConfigError) {
        process.stderr.write(`${prefix}: invalid configuration\n${caught.problems.map((problem) => `  - ${problem}\n`).join("")}`);
        return EXIT_USAGE;
      }
      process.stderr.write(`${prefix}: ${formatFailure(reportedError(caught))}\n`);
      return EXIT_FAILURE;
    } finally {
      process.off("SIGINT", onSigint);
      process.stdout.off("error", onStdoutError);
    }
  };

  return { summary: definition.summary, help, run };
}
