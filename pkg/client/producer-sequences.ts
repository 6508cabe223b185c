import { assertName, invalidArgument, type Producer } from "../api/internal/index.js";

/** Who publishes, for an idempotent publish (docs/protocol.md, Idempotent publish); the SDK assigns the sequence. */
export interface ProducerIdentity {
  /** Names the producer: non-empty, at most 256 bytes, no control characters. */
  id: string;
  /** An integer >= 0; a restarted producer takes a higher one, which fences the old (`failed_precondition`). */
  epoch: number;
}

/** Checks a publish's `producer` option. */
export function requireProducerIdentity(value: unknown, field: string): ProducerIdentity {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidArgument(field, "must be an object { id, epoch }");
  const { id, epoch } = value as { id?: unknown; epoch?: unknown };
  assertName(id, `${field}.id`);
  if (typeof epoch !== "number" || !Number.isSafeInteger(epoch) || epoch < 0) throw invalidArgument(`${field}.epoch`, "must be an integer >= 0");
  return { id, epoch };
}

/**
 * The next sequence of each producer identity, per store and segment, from 0 up: a client's
 * publishes with one identity to one segment are numbered in the order they are made, and a retry
 * resends the same number.
 */
export class ProducerSequences {
  readonly #next = new Map<string, number>();

  stamp(storeId: string, space: string, segment: string, identity: ProducerIdentity): Producer {
    const key = `${storeId}\u0000${space}\u0000${segment}\u0000${identity.id}\u0000${identity.epoch}`;
    const sequence = this.#next.get(key) ?? 0;
    this.#next.set(key, sequence + 1);
    return { id: identity.id, epoch: identity.epoch, sequence };
  }
}
