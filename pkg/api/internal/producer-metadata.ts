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

const RESERVED: readonly string[] = Object.values(PRODUCER_METADATA);

/**
 * Refuses a client's metadata that sets a key of PRODUCER_METADATA: only the server writes them (from
 * a publish's producer stamp, or the HTTP gateway's producers), else a plain write could pose as a
 * producer's publish and have its real ones answered "already stored" or fenced.
 */
export function checkUnreserved(metadata: { [key: string]: string } | null | undefined, field: string): void {
  if (metadata === undefined || metadata === null) return;
  for (const key of RESERVED) {
    if (Object.hasOwn(metadata, key)) {
      throw invalidArgument(`${field}.${key}`, "is reserved for idempotent publish: the server writes it from a publish's producer option");
    }
  }
}
