import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { OUTPUT_FLAGS, wantsTable } from "./listing.js";
import { formatJson, formatTable } from "./output.js";
import { defineVerb } from "./run.js";

const flags = { ...OUTPUT_FLAGS, ...STORE_FLAGS } as const;

export const segmentsVerb = defineVerb({
  name: "segments",
  summary: "List the segments of a space.",
  flags,
  positionals: { names: ["space"], min: 1 },
  help: {
    usage: "segments <space> [flags]",
    about: ["Prints the space's segments, sorted: a JSON array of names, or one per line under a heading (on a", "terminal, or with --output table)."],
    flags,
    examples: ["streamkit segments orders --store-id $STORE"],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const storeId = storeIdOf({ flags: values, fromEnv });
    const table = wantsTable(values.output, context.stdoutIsTty);
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}:read` }, async (client) => {
      const segments = await client.getSegments(storeId, space, { signal: context.signal });
      await context.out(table ? formatTable(["segment"], segments.map((segment) => [segment])) : formatJson(segments, context.stdoutIsTty));
      return 0;
    });
  },
});
