import { CONSUME_FLAGS, consumeEntries } from "./consume.js";
import { defineVerb } from "./run.js";

const { follow: _follow, ...flags } = CONSUME_FLAGS;

export const tailVerb = defineVerb({
  name: "tail",
  summary: "Follow a segment or spaces live: consume --follow.",
  flags,
  positionals: { names: ["space", "segment"], min: 0 },
  help: {
    usage: "tail <space> [segment] [flags]   |   tail --space <a> --space <b> [flags]",
    about: [
      "`consume --follow`: prints the entries already there (from --from, by default the start), then",
      "every entry as it commits, as JSON lines, reconnecting and resuming without gaps when the connection",
      "drops, until SIGINT (exit 0). See `streamkit consume --help` for the output.",
    ],
    flags,
    examples: ["streamkit tail orders order-42 --from 100", "streamkit tail orders --payload base64"],
  },
  run: ({ flags: values, positionals, fromEnv }, context) => consumeEntries({ flags: { ...values, follow: true }, positionals, fromEnv }, context),
});
