import type { Entry } from "../../api/index.js";
import { type FlagSpec, UsageError } from "./args.js";
import { type Line, readLines } from "./lines.js";

export const INPUT_FORMATS = ["raw", "json"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** Where `produce` and `publish` read records and how each line reads. */
export const INPUT_FLAGS = {
  file: { type: "string", short: "f", value: "<path>", description: "Read records from this file instead of stdin (- = stdin)." },
  format: {
    type: "string",
    value: "raw|json",
    description: 'raw: each line is a payload; json: each line is {"payload": "<text>" | {"base64": "…"}, "metadata": {…}}. Default raw.',
  },
} as const satisfies Record<string, FlagSpec>;

export const PAYLOAD_MODES = ["auto", "text", "base64"] as const;
/** How payloads are printed: text when valid UTF-8 else `{base64}` (auto), always text, or always `{base64}`. */
export type PayloadMode = (typeof PAYLOAD_MODES)[number];

/** A record's content before it gets a sequence. */
export interface RecordContent {
  readonly payload: Uint8Array;
  readonly metadata: { [key: string]: string } | undefined;
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
const encoder = new TextEncoder();
// Fatal: invalid UTF-8 is reported, not replaced; ignoreBOM keeps a leading BOM in the text.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function jsonPayload(value: unknown, where: string): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (isObject(value) && Object.keys(value).length === 1 && typeof value.base64 === "string" && BASE64_RE.test(value.base64)) {
    return new Uint8Array(Buffer.from(value.base64, "base64"));
  }
  throw new UsageError(`${where}: "payload" must be a string or { "base64": "<base64>" }`);
}

function jsonMetadata(value: unknown, where: string): { [key: string]: string } | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((item) => typeof item !== "string")) {
    throw new UsageError(`${where}: "metadata" must be an object of strings`);
  }
  return value as { [key: string]: string };
}

/**
 * One input line as a record's content: raw, the line's bytes; json,
 * `{ "payload": "<text>" | { "base64": "…" }, "metadata"?: { … } }`. Blank lines in json are
 * skipped (undefined). A malformed line is a UsageError naming its number.
 */
function parseLine(line: Line, format: InputFormat): RecordContent | undefined {
  if (format === "raw") return { payload: line.bytes, metadata: undefined };
  const text = lenientDecoder.decode(line.bytes);
  if (text.trim() === "") return undefined;
  const where = `line ${line.number}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where}: not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new UsageError(`${where}: must be a JSON object`);
  const unknown = Object.keys(value).find((key) => key !== "payload" && key !== "metadata");
  if (unknown !== undefined) throw new UsageError(`${where}: unknown field ${JSON.stringify(unknown)} (expected payload, metadata)`);
  if (!("payload" in value)) throw new UsageError(`${where}: "payload" is missing`);
  return { payload: jsonPayload(value.payload, where), metadata: jsonMetadata(value.metadata, where) };
}

/** The record contents of an input, one per line (blank json lines skipped). */
export async function* readContents(input: AsyncIterable<Buffer | string>, format: InputFormat): AsyncGenerator<RecordContent> {
  for await (const line of readLines(input)) {
    const content = parseLine(line, format);
    if (content !== undefined) yield content;
  }
}

/** A payload for JSON output. */
export function payloadJson(payload: Uint8Array, mode: PayloadMode): string | { base64: string } {
  const base64 = (): { base64: string } => ({ base64: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64") });
  if (mode === "base64") return base64();
  if (mode === "text") return lenientDecoder.decode(payload);
  try {
    return strictDecoder.decode(payload);
  } catch {
    return base64();
  }
}

/** The JSON form of an entry that `consume`, `tail` and `peek` print. */
export function entryJson(entry: Entry, mode: PayloadMode): object {
  const { space, segment, sequence, timestamp, offset, metadata } = entry;
  return { space, segment, sequence, timestamp, offset, metadata, payload: payloadJson(entry.payload, mode) };
}
