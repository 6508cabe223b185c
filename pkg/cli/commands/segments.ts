import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { OUTPUT_FLAGS, wantsTable } from "./listing.js";
import { formatJson, formatTable, formatTime } from "./output.js";
import { defineVerb } from "./run.js";
import { spaceSnapshot } from "./space-snapshot.js";

const flags = { ...OUTPUT_FLAGS, ...STORE_FLAGS } as const;

/** The table's columns, in the order of the JSON fields they show. */
const COLUMNS = ["segment", "first sequence", "last sequence", "first timestamp", "last timestamp", "state"];

export const segmentsVerb = defineVerb({
  name: "segments",
  summary: "List the segments of a space with their heads.",
  flags,
  positionals: { names: ["space"], min: 1 },
  help: {
    usage: "segments <space> [flags]",
    about: [
      "Prints the space's segments, sorted, each with its first and last sequence and timestamp and its",
      "state (open, closed, deleted): a JSON array of",
      '  {"segment","firstSequence","lastSequence","firstTimestamp","lastTimestamp","state"}',
      "or the same fields as a table, times as ISO 8601 (on a terminal, or with --output table).",
    ],
    flags,
    examples: ["streamkit segments orders --store-id $STORE", "streamkit segments orders -o json | jq -r '.[].segment'"],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const table = wantsTable(values.output, context.stdoutIsTty);
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}:read` }, async (client) => {
      const segments = (await spaceSnapshot(client, storeId, space, context.signal)).map((status) => ({
        segment: status.segment,
        firstSequence: status.firstSequence,
        lastSequence: status.lastSequence,
        firstTimestamp: status.firstTimestamp,
        lastTimestamp: status.lastTimestamp,
        state: status.deleted === true ? "deleted" : status.closed === true ? "closed" : "open",
      }));
      if (!table) {
        await context.out(formatJson(segments, context.stdoutIsTty));
        return 0;
      }
      const rows = segments.map((s) => [s.segment, s.firstSequence, s.lastSequence, formatTime(s.firstTimestamp), formatTime(s.lastTimestamp), s.state]);
      await context.out(formatTable(COLUMNS, rows));
      return 0;
    });
  },
});
