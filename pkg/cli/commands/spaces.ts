import { STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { OUTPUT_FLAGS, wantsTable } from "./listing.js";
import { formatJson, formatTable, formatTime } from "./output.js";
import { defineVerb } from "./run.js";

const flags = { ...OUTPUT_FLAGS, ...STORE_FLAGS } as const;

export const spacesVerb = defineVerb({
  name: "spaces",
  summary: "List a store's spaces.",
  flags,
  positionals: { names: [], min: 0 },
  help: {
    usage: "spaces [flags]",
    about: [
      "Prints the store's spaces, sorted, each with its segment and entry counts and its last write: a",
      'JSON array of {"space","segments","entries","lastTimestamp"}, or the same fields as a table, the',
      "time as ISO 8601 (on a terminal, or with --output table).",
    ],
    flags,
    examples: ["streamkit spaces --store-id $STORE", "streamkit spaces -o json | jq -r '.[].space'"],
  },
  async run({ flags: values, fromEnv }, context) {
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const table = wantsTable(values.output, context.stdoutIsTty);
    const { signal } = context;
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}:read` }, async (client) => {
      const { spaces: statuses } = await client.getStatus(storeId, { signal });
      const spaces = statuses
        .map((space) => ({ space: space.space, segments: space.segmentCount, entries: space.entryCount, lastTimestamp: space.lastTimestamp }))
        .sort((a, b) => (a.space < b.space ? -1 : a.space > b.space ? 1 : 0));
      if (!table) {
        await context.out(formatJson(spaces, context.stdoutIsTty));
        return 0;
      }
      const rows = spaces.map((space) => [space.space, space.segments, space.entries, formatTime(space.lastTimestamp)]);
      await context.out(formatTable(["space", "segments", "entries", "last timestamp"], rows));
      return 0;
    });
  },
});
