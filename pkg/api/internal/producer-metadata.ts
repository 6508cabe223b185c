import { invalidArgument } from "../errors.js";

/**
 * Entry metadata that records an idempotent publish with its entry (docs/design.md, Idempotent
 * publish): both the WebSocket publish and the HTTP gateway's idempotent producers write and read
 * these keys, so a producer's dedupe state is the data itself, shared by both APIs.
 */
export const PRODUCER_METADATA = {
  producer: "ds.producer",
  epoch: "ds.epoch",
  sequence: "ds.seq",
} as const;

/**
 * Every metadata key with this prefix is the server's: the producer stamp above and the HTTP
 * gateway's own keys (its close marker, its `Stream-Seq` mark), including any it adds later.
 */
export const RESERVED_METADATA_PREFIX = "ds.";

/**
 * Refuses a client's metadata that sets a key starting with RESERVED_METADATA_PREFIX: only the server
 * writes them (from a publish's producer stamp, or the HTTP gateway), else a plain write could pose as
 * a producer's publish and have its real ones answered "already stored" or fenced, or forge an HTTP
 * stream's close marker or `Stream-Seq`.
 */
export function checkUnreserved(metadata: { [key: string]: string } | null | undefined, field: string): void {
  if (metadata === undefined || metadata === null) return;
  for (const key of Object.keys(metadata)) {
    if (key.startsWith(RESERVED_METADATA_PREFIX)) {
      throw invalidArgument(`${field}.${key}`, `is reserved: metadata keys starting with "${RESERVED_METADATA_PREFIX}" are written only by the server (idempotent publish, the HTTP gateway)`);
    }
  }
}
