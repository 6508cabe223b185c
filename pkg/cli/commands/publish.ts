import type { SegmentStatus } from "../../api/index.js";
import { choiceFlag, UsageError } from "./args.js";
import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { openInput } from "./lines.js";
import { formatJson } from "./output.js";
import { INPUT_FLAGS, INPUT_FORMATS, readContents } from "./payloads.js";
import { startProgress } from "./progress.js";
import { defineVerb } from "./run.js";

const flags = { ...INPUT_FLAGS, ...STORE_FLAGS } as const;

export const publishVerb = defineVerb({
  name: "publish",
  summary: "Publish each input line as one record at the segment's next sequence.",
  flags,
  positionals: { names: ["space", "segment"], min: 2 },
  help: {
    usage: "publish <space> <segment> [flags] < records",
    about: [
      "Publishes one record per input line, in order, each at whatever sequence the server assigns next",
      "(no conflicts: concurrent publishers interleave). One round trip per record; use produce for volume.",
      "Shows progress on stderr when it is a terminal. Prints",
      '{"published": <records>, "status": <segment status after the last one, or null>} on stdout.',
    ],
    flags,
    examples: [
      "echo 'order shipped' | streamkit publish orders order-42 --store-id $STORE",
      'echo \'{"payload":"hi","metadata":{"type":"greeting"}}\' | streamkit publish chat room-1 --format json',
    ],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const segment = nameOf(positionals[1]!, "segment");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const format = choiceFlag(values.format, "format", INPUT_FORMATS, "raw");
    const input = await openInput(values.file);
    if (input === process.stdin && process.stdin.isTTY) context.note("reading records from stdin, one per line; end with Ctrl-D");
    const { signal } = context;
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}` }, async (client) => {
      let published = 0;
      let status: SegmentStatus | null = null;
      const progress = startProgress(process.stderr, "publish");
      try {
        for await (const { payload, metadata } of readContents(input, format)) {
          status = await client.publish(storeId, space, segment, payload, { metadata, signal });
          published++;
          progress.add(1);
        }
      } catch (error) {
        if (error instanceof UsageError && published > 0) throw new UsageError(`${error.message}; the ${published} records before it were published`);
        throw error;
      } finally {
        progress.end();
      }
      await context.out(formatJson({ published, status }, context.stdoutIsTty));
      return 0;
    });
  },
});
