import { choiceFlag } from "./args.js";
import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { formatJson } from "./output.js";
import { entryJson, PAYLOAD_MODES } from "./payloads.js";
import { defineVerb } from "./run.js";

const flags = {
  payload: { type: "string", value: "auto|text|base64", description: "Payload as text when valid UTF-8 else {base64} (auto, default), or always one." },
  ...STORE_FLAGS,
} as const;

export const peekVerb = defineVerb({
  name: "peek",
  summary: "Print a segment's latest entry as JSON.",
  flags,
  positionals: { names: ["space", "segment"], min: 2 },
  help: {
    usage: "peek <space> <segment> [flags]",
    about: [
      "Prints the segment's latest entry as JSON, in the form consume prints. An empty (or missing)",
      "segment gives sequence 0, timestamp 0, an empty payload and offset \"\".",
    ],
    flags,
    examples: ["streamkit peek orders order-42 --store-id $STORE"],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const segment = nameOf(positionals[1]!, "segment");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const mode = choiceFlag(values.payload, "payload", PAYLOAD_MODES, "auto");
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}:read` }, async (client) => {
      const entry = await client.peek(storeId, space, segment, { signal: context.signal });
      await context.out(formatJson(entryJson(entry, mode), context.stdoutIsTty));
      return 0;
    });
  },
});
