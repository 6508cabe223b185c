import { decodeOffsetOf, type OffsetKind, StreamsError } from "../../api/internal/index.js";
import type { ConsumeIterable, StreamsClient } from "../../client/index.js";
import { choiceFlag, type FlagValues, integerFlag, type ParsedArgs, UsageError } from "./args.js";
import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { entryJson, PAYLOAD_MODES } from "./payloads.js";
import { parseSince, segmentEnd, spaceEnd } from "./read-start.js";
import { defineVerb, type VerbContext } from "./run.js";

export const CONSUME_FLAGS = {
  space: { type: "string", multiple: true, value: "<space>", description: "A space to read; several are merged by (timestamp, space)." },
  from: {
    type: "string",
    multiple: true,
    value: "start|end|<offset>",
    description:
      "Where to start: start, end (only what commits from now on), or after an offset; for a segment a number is the first sequence. Several spaces: <space>=<from> (once per space), or one for all.",
  },
  since: { type: "string", value: "<duration|time>", description: "Start at the entries committed since then: 15m, 2h, 7d back from now, or a time (ISO 8601, ms since epoch)." },
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

/** Where a read starts, as given: the start, the end, or after an offset (a segment also takes a sequence). */
type From = "start" | "end" | { offset: string };

function fromOf(text: string | undefined, fallback: "start" | "end"): From {
  if (text === undefined) return fallback;
  return text === "start" || text === "end" ? text : { offset: text };
}

/** `--from <space>=<from>` per space, or one `--from <from>` for all; spaces not named start at `fallback`. */
function fromsOf(spaces: readonly string[], from: readonly string[], fallback: "start" | "end"): Map<string, From> {
  const plain = from.filter((item) => item === "start" || item === "end");
  if (plain.length > 1) throw new UsageError("--from: give start or end once");
  const froms = new Map<string, From>(spaces.map((space) => [space, fromOf(plain[0], fallback)]));
  const named = new Set<string>();
  for (const item of from) {
    if (item === "start" || item === "end") continue;
    const split = item.lastIndexOf("=");
    const space = item.slice(0, Math.max(split, 0));
    if (split < 0 || !froms.has(space)) throw new UsageError(`--from: reading several spaces, give <space>=<from> for one of them, got ${JSON.stringify(item)}`);
    if (named.has(space)) throw new UsageError(`--from: ${space} is given twice`);
    named.add(space);
    froms.set(space, fromOf(item.slice(split + 1), fallback));
  }
  return froms;
}

/** A space's start as an offset (end resolved against the store now) and the timestamp the server may skip to. */
async function spaceStart(client: StreamsClient, storeId: string, space: string, from: From, signal: AbortSignal): Promise<{ offset: string; minTimestamp: number }> {
  if (from === "start") return { offset: "", minTimestamp: 0 };
  if (from === "end") return spaceEnd(client, storeId, space, signal);
  return { offset: checkedOffset(from.offset, "space"), minTimestamp: 0 };
}

async function openRead(client: StreamsClient, storeId: string, target: Target, flags: ConsumeFlags, fallback: "start" | "end", signal: AbortSignal): Promise<ConsumeIterable> {
  const limit = integerFlag(flags.limit, "limit", 0) ?? 0;
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  if (since !== undefined && flags.from.length > 0) throw new UsageError("give --from or --since, not both");
  const common = { limit, follow: flags.follow, ...(since === undefined ? {} : { minTimestamp: since }) };
  // --since alone reads from the start of the time window.
  const start = since === undefined ? fallback : "start";
  if (target.kind === "segment") {
    const from = fromOf(singleFrom(flags.from), start);
    const query =
      from === "start"
        ? {}
        : from === "end"
          ? { minSequence: await segmentEnd(client, storeId, target.space, target.segment, signal) }
          : /^\d+$/.test(from.offset)
            ? { minSequence: integerFlag(from.offset, "from", 0) }
            : { offset: checkedOffset(from.offset, "segment") };
    return client.consumeSegment(storeId, { space: target.space, segment: target.segment, ...query, ...common }, { signal });
  }
  if (target.kind === "space") {
    const from = fromOf(singleFrom(flags.from), start);
    if (typeof from === "object" && /^\d+$/.test(from.offset)) throw new UsageError("--from: a sequence needs a segment; a space read starts after an offset");
    const { offset, minTimestamp } = await spaceStart(client, storeId, target.space, from, signal);
    return client.consumeSpace(storeId, { space: target.space, offset, ...common, ...(minTimestamp > 0 ? { minTimestamp } : {}) }, { signal });
  }
  const offsets: { [space: string]: string } = {};
  let minTimestamp = Number.POSITIVE_INFINITY;
  for (const [space, from] of fromsOf(target.spaces, flags.from, start)) {
    const begin = await spaceStart(client, storeId, space, from, signal);
    offsets[space] = begin.offset;
    minTimestamp = Math.min(minTimestamp, begin.minTimestamp);
  }
  // One time bound for all spaces: the lowest, so no space's start is cut (offsets do the exact work).
  return client.consume(storeId, { offsets, ...common, ...(minTimestamp > 0 ? { minTimestamp } : {}) }, { signal });
}

/**
 * Reads and prints entries as JSON lines; SIGINT ends the read with exit 0. Without --from or
 * --since the read starts at `fallback`: consume at the start, tail at the end.
 */
export async function consumeEntries(
  { flags, positionals, fromEnv }: ParsedArgs<typeof CONSUME_FLAGS>,
  context: VerbContext,
  fallback: "start" | "end" = "start",
): Promise<number> {
  const target = targetOf(flags, positionals);
  const storeId = storeIdOf({ flags, fromEnv }, context);
  const mode = choiceFlag(flags.payload, "payload", PAYLOAD_MODES, "auto");
  const scope = `streamkit::${storeId}:read`;
  return withClient({ flags, fromEnv }, context, { scope, keepRetrying: flags.follow }, async (client) => {
    const entries = await openRead(client, storeId, target, flags, fallback, context.signal);
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
      "(timestamp, space). Each entry's offset resumes the read right after it (--from). It starts at the",
      "start unless --from or --since says otherwise. With --follow it keeps printing live entries",
      "(reconnecting as needed) until SIGINT, which ends it with exit 0.",
    ],
    flags: CONSUME_FLAGS,
    examples: [
      "streamkit consume orders order-42 --from 10 --limit 5",
      "streamkit consume orders --from p1a --follow",
      "streamkit consume orders --since 15m",
      "streamkit consume --space orders --space payments --from orders=p1a",
    ],
  },
  run: consumeEntries,
});
