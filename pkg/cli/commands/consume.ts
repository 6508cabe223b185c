import { decodeOffsetOf, type OffsetKind, StreamsError } from "../../api/internal/index.js";
import type { ConsumeIterable, StreamsClient } from "../../client/index.js";
import { choiceFlag, type FlagValues, integerFlag, type ParsedArgs, UsageError } from "./args.js";
import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { entryJson, PAYLOAD_MODES } from "./payloads.js";
import { defineVerb, type VerbContext } from "./run.js";

export const CONSUME_FLAGS = {
  space: { type: "string", multiple: true, value: "<space>", description: "A space to read; several are merged by (timestamp, space)." },
  from: {
    type: "string",
    multiple: true,
    value: "<offset|sequence>",
    description: "Start after this offset; for a segment a number is the first sequence. Several spaces: <space>=<offset>.",
  },
  limit: { type: "string", value: "<n>", description: "Stop after this many entries (0: no limit)." },
  follow: { type: "boolean", description: "Keep reading live entries as they commit, until SIGINT (exit 0)." },
  payload: { type: "string", value: "auto|text|base64", description: "Payload as text when valid UTF-8 else {base64} (auto, default), or always one." },
  ...STORE_FLAGS,
} as const;

type ConsumeFlags = FlagValues<typeof CONSUME_FLAGS>;

/** What to read: one segment, one space, or several spaces. */
type Target =
  | { kind: "segment"; space: string; segment: string }
  | { kind: "space"; space: string }
  | { kind: "spaces"; spaces: readonly string[] };

function targetOf(flags: ConsumeFlags, positionals: readonly string[]): Target {
  const [space, segment] = positionals;
  const spaces = [...(space === undefined ? [] : [space]), ...flags.space].map((name) => nameOf(name, "space"));
  if (spaces.length === 0) throw new UsageError("give a space (an argument or --space)");
  if (new Set(spaces).size !== spaces.length) throw new UsageError("a space is given twice");
  if (segment !== undefined) {
    if (spaces.length > 1) throw new UsageError("a segment can be read from one space only");
    return { kind: "segment", space: spaces[0]!, segment: nameOf(segment, "segment") };
  }
  return spaces.length === 1 ? { kind: "space", space: spaces[0]! } : { kind: "spaces", spaces };
}

/** An offset of the kind the read takes, checked here so a wrong one is a usage error. */
function checkedOffset(offset: string, kind: OffsetKind): string {
  try {
    decodeOffsetOf(kind, offset, "--from");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return offset;
}

/** The one `--from` of a single read, if given. */
function singleFrom(from: readonly string[]): string | undefined {
  if (from.length > 1) throw new UsageError("--from: give it once when reading one space or segment");
  return from[0];
}

/** `--from space=offset` for each space of a multi-space read; spaces not named start at the beginning. */
function offsetsOf(spaces: readonly string[], from: readonly string[]): { [space: string]: string } {
  const offsets: { [space: string]: string } = Object.fromEntries(spaces.map((space) => [space, ""]));
  for (const item of from) {
    const split = item.lastIndexOf("=");
    const space = item.slice(0, Math.max(split, 0));
    if (split < 0 || !(space in offsets)) throw new UsageError(`--from: reading several spaces, give <space>=<offset> for one of them, got ${JSON.stringify(item)}`);
    offsets[space] = checkedOffset(item.slice(split + 1), "space");
  }
  return offsets;
}

function openRead(client: StreamsClient, storeId: string, target: Target, flags: ConsumeFlags, signal: AbortSignal): ConsumeIterable {
  const limit = integerFlag(flags.limit, "limit", 0) ?? 0;
  const common = { limit, follow: flags.follow };
  if (target.kind === "segment") {
    const from = singleFrom(flags.from);
    const start = from === undefined ? {} : /^\d+$/.test(from) ? { minSequence: integerFlag(from, "from", 0) } : { offset: checkedOffset(from, "segment") };
    return client.consumeSegment(storeId, { space: target.space, segment: target.segment, ...start, ...common }, { signal });
  }
  if (target.kind === "space") {
    const from = singleFrom(flags.from);
    if (from !== undefined && /^\d+$/.test(from)) throw new UsageError("--from: a sequence needs a segment; a space read starts after an offset");
    return client.consumeSpace(storeId, { space: target.space, offset: from === undefined ? "" : checkedOffset(from, "space"), ...common }, { signal });
  }
  return client.consume(storeId, { offsets: offsetsOf(target.spaces, flags.from), ...common }, { signal });
}

/** Reads and prints entries as JSON lines; SIGINT ends the read with exit 0. */
export async function consumeEntries({ flags, positionals, fromEnv }: ParsedArgs<typeof CONSUME_FLAGS>, context: VerbContext): Promise<number> {
  const target = targetOf(flags, positionals);
  const storeId = storeIdOf({ flags, fromEnv });
  const mode = choiceFlag(flags.payload, "payload", PAYLOAD_MODES, "auto");
  const scope = `streamkit::${storeId}:read`;
  return withClient({ flags, fromEnv }, context, { scope, keepRetrying: flags.follow }, async (client) => {
    const entries = openRead(client, storeId, target, flags, context.signal);
    try {
      for await (const entry of entries) await context.out(`${JSON.stringify(entryJson(entry, mode))}\n`);
    } catch (error) {
      if (context.interrupted && error instanceof StreamsError && error.kind === "cancelled") return 0;
      throw error;
    }
    return 0;
  });
}

export const consumeVerb = defineVerb({
  name: "consume",
  summary: "Print a segment's or spaces' entries as JSON lines.",
  flags: CONSUME_FLAGS,
  positionals: { names: ["space", "segment"], min: 0 },
  help: {
    usage: "consume <space> [segment] [flags]   |   consume --space <a> --space <b> [flags]",
    about: [
      "Reads entries in order and prints one JSON object per line on stdout:",
      '  {"space","segment","sequence","timestamp","offset","metadata","payload"}',
      "A segment read is in sequence order; a space read in commit order; several spaces merge by",
      "(timestamp, space). Each entry's offset resumes the read right after it (--from). With --follow",
      "it keeps printing live entries (reconnecting as needed) until SIGINT, which ends it with exit 0.",
    ],
    flags: CONSUME_FLAGS,
    examples: [
      "streamkit consume orders order-42 --from 10 --limit 5",
      "streamkit consume orders --from p1a --follow",
      "streamkit consume --space orders --space payments --from orders=p1a",
    ],
  },
  run: consumeEntries,
});
