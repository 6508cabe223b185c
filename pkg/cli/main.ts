#!/usr/bin/env node
import {
  consumeVerb,
  peekVerb,
  closeVerb,
  deleteVerb,
  retentionVerb,
  truncateVerb,
  produceVerb,
  publishVerb,
  segmentsVerb,
  spacesVerb,
  statusVerb,
  tailVerb,
  tokenVerb,
} from "./commands/index.js";
import { mainHelp, type Verb } from "./help.js";
import { packageVersion } from "../server/operator/version.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./exit-codes.js";
import { serveVerb } from "./serve-verb.js";

const VERBS: Readonly<Record<string, Verb>> = {
  serve: serveVerb,
  token: tokenVerb,
  produce: produceVerb,
  publish: publishVerb,
  consume: consumeVerb,
  tail: tailVerb,
  peek: peekVerb,
  spaces: spacesVerb,
  segments: segmentsVerb,
  status: statusVerb,
  delete: deleteVerb,
  truncate: truncateVerb,
  close: closeVerb,
  retention: retentionVerb,
};

/** `streamkit <verb> [flags]`; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === "--version" || verb === "-V") {
    process.stdout.write(`streamkit ${packageVersion()}\n`);
    return EXIT_OK;
  }
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    const topic = verb === "help" ? rest[0] : undefined;
    const help = topic === undefined ? mainHelp(VERBS) : VERBS[topic]?.help();
    if (help === undefined) {
      process.stderr.write(`streamkit: unknown command ${JSON.stringify(topic)}\n\n${mainHelp(VERBS)}`);
      return EXIT_USAGE;
    }
    (verb === undefined ? process.stderr : process.stdout).write(help);
    return verb === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = VERBS[verb];
  if (command === undefined) {
    process.stderr.write(`streamkit: unknown command ${JSON.stringify(verb)}\n\n${mainHelp(VERBS)}`);
    return EXIT_USAGE;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`streamkit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
