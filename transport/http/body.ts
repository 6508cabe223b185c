import type { IncomingMessage } from "node:http";
import { HttpProblem, badRequest } from "./headers.js";

/**
 * Request body bytes the gateway holds at once, over every request (docs/limits.md): a request holds
 * what it has read of its body until it is answered, so clients that send bodies slowly, or many at
 * once, cannot make the server hold more than `max`. Past it a request is refused with 429.
 */
export class BodyBudget {
  #held = 0;

  constructor(readonly max: number) {}

  get held(): number {
    return this.#held;
  }

  /** A request's part of the budget; `release()` gives back all it took (once, when it is answered). */
  share(): BodyShare {
    let taken = 0;
    return {
      take: (bytes: number) => {
        if (this.#held + bytes > this.max) {
          throw new HttpProblem(429, "the server holds as many request bodies as it may; try again", { "retry-after": "1", connection: "close" });
        }
        this.#held += bytes;
        taken += bytes;
      },
      release: () => {
        this.#held -= taken;
        taken = 0;
      },
    };
  }
}

export interface BodyShare {
  take(bytes: number): void;
  release(): void;
}

/** Reads a request body, refusing one past `limit` bytes with 413 (and draining nothing more), taking its bytes from `share`. */
export async function readBody(request: IncomingMessage, limit: number, share: BodyShare): Promise<Uint8Array> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > limit) throw new HttpProblem(413, `request body is over ${limit} bytes`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request as AsyncIterable<Buffer>) {
    size += part.byteLength;
    if (size > limit) throw new HttpProblem(413, `request body is over ${limit} bytes`);
    // Twice: the parts, then the one copy they are joined into.
    share.take(part.byteLength * 2);
    parts.push(part);
  }
  return new Uint8Array(Buffer.concat(parts, size));
}

const encoder = new TextEncoder();

/**
 * The messages of a JSON-mode body (docs/http.md, JSON mode): one level of a top-level array is
 * flattened; each message is stored as its own entry. An empty array is refused unless `allowEmpty`.
 */
export function jsonMessages(body: Uint8Array, allowEmpty: boolean): Uint8Array[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw badRequest("body is not valid JSON");
  }
  const messages = Array.isArray(value) ? value : [value];
  if (messages.length === 0 && !allowEmpty) throw badRequest("an empty JSON array appends nothing");
  return messages.map((message) => encoder.encode(JSON.stringify(message)));
}

/** A read's body: JSON messages as one array, other types as their bytes back to back. */
export function responseBody(payloads: readonly Uint8Array[], json: boolean): Uint8Array {
  if (!json) return Buffer.concat(payloads);
  const parts: Uint8Array[] = [encoder.encode("[")];
  payloads.forEach((payload, i) => {
    if (i > 0) parts.push(encoder.encode(","));
    parts.push(payload);
  });
  parts.push(encoder.encode("]"));
  return Buffer.concat(parts);
}
