import type { Record, SegmentStatus } from "../../api/index.js";
import { choiceFlag, integerFlag, UsageError } from "./args.js";
import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { openInput } from "./lines.js";
import { formatJson } from "./output.js";
import { INPUT_FLAGS, INPUT_FORMATS, readContents } from "./payloads.js";
import { startProgress } from "./progress.js";
import { defineVerb } from "./run.js";

const flags = {
  ...INPUT_FLAGS,
  "start-sequence": {
    type: "string",
    value: "<n>",
    description: "Sequence of the first record. Default: the segment's head + 1 (read with a peek first).",
  },
  "batch-size": { type: "string", value: "<n>", description: "Records per atomic batch. Default 1000." },
  ...STORE_FLAGS,
} as const;

export const produceVerb = defineVerb({
  name: "produce",
  summary: "Append records from stdin or a file to a segment, in atomic batches.",
  flags,
  positionals: { names: ["space", "segment"], min: 2 },
  help: {
    usage: "produce <space> <segment> [flags] < records",
    about: [
      "Appends one record per input line, numbered from the segment's head + 1 (or --start-sequence), in",
      "batches that each commit atomically. A sequence that is already taken fails with sequence_conflict;",
      "batches committed before it stay. Shows progress on stderr when it is a terminal. Prints",
      '{"produced": <records>, "status": <segment status after the last batch, or null>} on stdout.',
    ],
    flags,
    examples: [
      "printf 'a\\nb\\n' | streamkit produce orders order-42 --store-id $STORE",
      "streamkit produce orders order-42 --format json --file events.jsonl --start-sequence 1",
    ],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const segment = nameOf(positionals[1]!, "segment");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const format = choiceFlag(values.format, "format", INPUT_FORMATS, "raw");
    const startSequence = integerFlag(values["start-sequence"], "start-sequence", 1);
    const batchSize = integerFlag(values["batch-size"], "batch-size", 1);
    const input = await openInput(values.file);
    if (input === process.stdin && process.stdin.isTTY) context.note("reading records from stdin, one per line; end with Ctrl-D");
    const { signal } = context;
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}` }, async (client) => {
      const first = startSequence ?? (await client.peek(storeId, space, segment, { signal })).sequence + 1;
      const progress = startProgress(process.stderr, "produce");
      let produced = 0;
      async function* records(): AsyncGenerator<Record> {
        for await (const { payload, metadata } of readContents(input, format)) {
          const sequence = first + produced++;
          progress.add(1);
          yield metadata === undefined ? { sequence, payload } : { sequence, payload, metadata };
        }
      }
      let statuses: SegmentStatus[];
      try {
        statuses = await client.produce(storeId, space, segment, records(), { batchSize, signal });
      } catch (error) {
        // Batches sent before a bad line may have committed, as with any failed produce.
        if (error instanceof UsageError && produced > 0) {
          throw new UsageError(`${error.message}; records before it may have been produced (\`streamkit peek\` shows the head)`);
        }
        throw error;
      } finally {
        progress.end();
      }
      await context.out(formatJson({ produced, status: statuses.at(-1) ?? null }, context.stdoutIsTty));
      return 0;
    });
  },
});
