import { CONSUME_FLAGS, consumeEntries } from "./consume.js";
import { defineVerb } from "./run.js";

const { follow: _follow, ...flags } = CONSUME_FLAGS;

export const tailVerb = defineVerb({
  name: "tail",
  summary: "Follow a segment or spaces live from the end: consume --follow --from end.",
  flags,
  positionals: { names: ["space", "segment"], min: 0 },
  help: {
    usage: "tail <space> [segment] [flags]   |   tail --space <a> --space <b> [flags]",
    about: [
      "`consume --follow` from the end, like `tail -f`: prints every entry as it commits from now on, as",
      "JSON lines, reconnecting and resuming without gaps when the connection drops, until SIGINT (exit 0).",
      "--from start (or an offset, or a segment's sequence) or --since prints the history from there first.",
      "See `streamkit consume --help` for the output.",
    ],
    flags,
    examples: ["streamkit tail orders order-42", "streamkit tail orders --since 5m", "streamkit tail orders order-42 --from start", "streamkit tail orders --payload base64"],
  },
  run: ({ flags: values, positionals, fromEnv }, context) => consumeEntries({ flags: { ...values, follow: true }, positionals, fromEnv }, context, "end"),
});
