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
