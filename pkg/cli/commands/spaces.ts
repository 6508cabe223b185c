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
      "Prints the store's spaces, sorted: a JSON array of names, or as a table (on a terminal, or with",
      "--output table) each space with its segment and entry counts and its last write.",
    ],
    flags,
    examples: ["streamkit spaces --store-id $STORE", "streamkit spaces -o json | jq -r '.[]'"],
  },
  async run({ flags: values, fromEnv }, context) {
    const storeId = storeIdOf({ flags: values, fromEnv });
    const table = wantsTable(values.output, context.stdoutIsTty);
    const { signal } = context;
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}:read` }, async (client) => {
      if (!table) {
        await context.out(formatJson(await client.getSpaces(storeId, { signal }), context.stdoutIsTty));
        return 0;
      }
      const { spaces } = await client.getStatus(storeId, { signal });
      const rows = spaces.map((space) => [space.space, space.segmentCount, space.entryCount, formatTime(space.lastTimestamp)]);
      await context.out(formatTable(["space", "segments", "entries", "last write"], rows));
      return 0;
    });
  },
});
