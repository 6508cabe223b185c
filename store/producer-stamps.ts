import { createHash, hash } from "node:crypto";
import { type Producer, PRODUCER_METADATA, StreamsError } from "../pkg/api/internal/index.js";

/**
 * The stamp of an idempotent publish as stored in its entry's metadata, the fingerprint that tells a
 * retry from a different publish under the same stamp, and the refusals of the producer index
 * (docs/protocol.md, Idempotent publish).
 */

/** The stamp an entry's metadata records, if any. */
export function stampOf(metadata: { [key: string]: string }): Producer | undefined {
  const id = metadata[PRODUCER_METADATA.producer];
  if (id === undefined) return undefined;
  const epoch = Number(metadata[PRODUCER_METADATA.epoch]);
  const sequence = Number(metadata[PRODUCER_METADATA.sequence]);
  if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(sequence)) return undefined;
  return { id, epoch, sequence };
}

/** The metadata that stores a publish's stamp with it. */
export function stamped(metadata: { [key: string]: string }, producer: Producer): { [key: string]: string } {
  return {
    ...metadata,
    [PRODUCER_METADATA.producer]: producer.id,
    [PRODUCER_METADATA.epoch]: String(producer.epoch),
    [PRODUCER_METADATA.sequence]: String(producer.sequence),
  };
}

const STAMP_KEYS: ReadonlySet<string> = new Set(Object.values(PRODUCER_METADATA));

/**
 * 48 bits of a SHA-256 over a publish's payload and its metadata without the stamp: a retry sends
 * the same, so a stamp repeated with a different fingerprint is another publish that reused the
 * stamp (a second client or a restart numbering from 0 again), refused rather than lost.
 */
export function fingerprintOf(payload: Uint8Array, metadata: { [key: string]: string }): number {
  const keys = Object.keys(metadata).filter((key) => !STAMP_KEYS.has(key));
  // Without metadata, the one-shot hash (about 0.9 µs for 200 B here, against 1.4 µs with a Hash object).
  if (keys.length === 0) return hash("sha256", payload, "buffer").readUIntBE(0, 6);
  const digest = createHash("sha256").update(payload);
  digest.update(JSON.stringify(keys.sort().map((key) => [key, metadata[key]])));
  return digest.digest().readUIntBE(0, 6);
}

export function fenced(producer: Producer, epoch: number): StreamsError {
  return new StreamsError("failed_precondition", `producer ${producer.id} is fenced: epoch ${producer.epoch} is older than its current epoch ${epoch}`, {
    details: { producer: producer.id, epoch },
  });
}

export function notStored(producer: Producer, latest: number): StreamsError {
  return new StreamsError(
    "failed_precondition",
    `publish ${producer.sequence} of producer ${producer.id} (epoch ${producer.epoch}) was not stored, and the producer has stored publish ${latest} since`,
    { details: { producer: producer.id, epoch: producer.epoch, sequence: latest } },
  );
}

/**
 * A publish whose stamp was stored (at `storedAt`), or is being stored, with a different payload or
 * metadata: not a retry, so it is refused rather than answered "already stored" and lost.
 */
export function reusedStamp(producer: Producer, storedAt: number | undefined): StreamsError {
  const other = storedAt === undefined ? "another publish with the same stamp" : `the publish stored at sequence ${storedAt} with the same stamp`;
  return new StreamsError(
    "failed_precondition",
    `publish ${producer.sequence} of producer ${producer.id} (epoch ${producer.epoch}) differs from ${other}: ` +
      "another client, or a restarted one, numbers this producer's publishes again; give each a new epoch",
    { details: { producer: producer.id, epoch: producer.epoch, sequence: producer.sequence, ...(storedAt !== undefined && { storedAt }) } },
  );
}
