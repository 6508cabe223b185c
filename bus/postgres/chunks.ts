import { createHash } from "node:crypto";

/**
 * How bus messages travel in NOTIFY payloads (docs/deployment.md, "PostgreSQL bus"). A payload is
 * text of at most 8000 bytes, so a message is base64-encoded and cut into chunks, each
 * `sender:serial:index:count:data`. A message's chunks are sent in one statement, hence one
 * transaction, which PostgreSQL delivers contiguously and in order; the sender and serial make every
 * payload distinct (PostgreSQL folds identical payloads of one transaction into one).
 */

/** Raw bytes per chunk: a multiple of 3 (base64 without padding inside a message) well under 8000 once encoded with its header. */
export const CHUNK_BYTES = 5_700;

/**
 * The channel of a route: a digest, because channel names are identifiers of at most 63 bytes and a
 * route may be longer or hold any character. 128 bits make a collision between routes negligible.
 */
export function channelOf(prefix: string, route: string): string {
  return `sk_${createHash("sha256").update(prefix).update("\0").update(route).digest("hex").slice(0, 32)}`;
}

/** The message's NOTIFY payloads, in order. Copies the bytes, so the caller may reuse its buffer. */
export function encodeChunks(sender: string, serial: number, message: Uint8Array): string[] {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const count = Math.max(1, Math.ceil(bytes.byteLength / CHUNK_BYTES));
  const head = `${sender}:${serial.toString(36)}:`;
  const chunks: string[] = [];
  for (let index = 0; index < count; index++) {
    const data = bytes.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES).toString("base64");
    chunks.push(`${head}${index}:${count}:${data}`);
  }
  return chunks;
}

export interface Chunk {
  /** `sender:serial`: which message the chunk belongs to. */
  readonly message: string;
  readonly index: number;
  readonly count: number;
  readonly data: Buffer;
}

/** Parses one payload; undefined for text that is not a chunk (someone else's NOTIFY on the channel). */
export function decodeChunk(payload: string): Chunk | undefined {
  const match = /^([^:]+:[0-9a-z]+):(\d+):(\d+):([A-Za-z0-9+/=]*)$/.exec(payload);
  if (match === null) return undefined;
  const [, message = "", index = "", count = "", data = ""] = match;
  const chunk = { message, index: Number(index), count: Number(count), data: Buffer.from(data, "base64") };
  return chunk.index < chunk.count ? chunk : undefined;
}

/** At most this many messages may be half received at once (a sender cut off mid-message leaves one behind). */
const MAX_PARTIAL = 64;

/** Joins the chunks of each message back together as they arrive. */
export class ChunkAssembler {
  readonly #partial = new Map<string, Buffer[]>();

  /** The whole message once its last chunk arrived, else undefined. */
  add(chunk: Chunk): Buffer | undefined {
    if (chunk.count === 1) return chunk.data;
    const parts = this.#partial.get(chunk.message) ?? [];
    if (parts.length !== chunk.index) {
      // A chunk out of turn means its earlier ones were lost with a connection: the message is gone.
      this.#partial.delete(chunk.message);
      return undefined;
    }
    parts.push(chunk.data);
    if (parts.length === chunk.count) {
      this.#partial.delete(chunk.message);
      return Buffer.concat(parts);
    }
    if (!this.#partial.has(chunk.message)) {
      this.#partial.set(chunk.message, parts);
      if (this.#partial.size > MAX_PARTIAL) this.#partial.delete(this.#partial.keys().next().value ?? "");
    }
    return undefined;
  }

  /** Forgets half-received messages: after a reconnect their remaining chunks never come. */
  clear(): void {
    this.#partial.clear();
  }
}
