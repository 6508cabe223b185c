import { Packr } from "msgpackr";
import { type ErrorInfo, StreamsError } from "../errors.js";
import { MessageTypes, type Message } from "../messages.js";
import { encodeEntriesMessage } from "./entries-codec.js";
import { validateMessage } from "./validate.js";

// Plain msgpack maps: entries travel as groups (one per run of a batch), so repeated shapes are few,
// and msgpackr's inline record definitions cost more than they save on small messages (publish
// with 64 in flight measured ~20 % faster without them).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: "number" });

/** Encodes one message envelope (`{ $type, ...fields }`). */
export function encodeMessage(message: Message): Uint8Array {
  // Reads send entries messages by the thousand: they have a writer of their own.
  if (message.$type === MessageTypes.entries) return encodeEntriesMessage(message, packMetadata) ?? packr.pack(message);
  return packr.pack(message);
}

const packMetadata = (metadata: { [key: string]: string }): Uint8Array => packr.pack(metadata);

/** Decodes bytes without checking the message's shape (what a client does with server answers). */
export function decodeAny(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new StreamsError("invalid_argument", `malformed envelope: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Decodes what another instance published on a bus: its fields when it is a map, undefined for
 * anything else or malformed (a bus carries what others publish; a receiver drops what it cannot read).
 */
export function decodeBusRecord(bytes: Uint8Array): { [key: string]: unknown } | undefined {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as { [key: string]: unknown }) : undefined;
}

/** Decodes and validates a message a server received; malformed input is `invalid_argument`. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (!(bytes instanceof Uint8Array)) throw new StreamsError("invalid_argument", "malformed envelope: not binary");
  return validateMessage(decodeAny(bytes));
}

/** Encodes any msgpack value with the shared codec (transports use it for frames). */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function encodeError(error: StreamsError): Uint8Array {
  return packr.pack(error.toInfo());
}

export function decodeError(bytes: Uint8Array): StreamsError {
  const info = decodeAny(bytes);
  if (typeof info !== "object" || info === null) return new StreamsError("internal", "malformed error frame");
  return StreamsError.fromInfo(info as ErrorInfo);
}
