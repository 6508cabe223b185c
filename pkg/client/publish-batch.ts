import { MAX_PUBLISH_BATCH, type Message, MessageTypes, type PublishItem, type PublishRequest } from "../api/internal/index.js";
import type { LaneCall } from "./publish-call.js";

/**
 * Largest publish_batch (its encoded size, bounded from above): a publish that would take a batch
 * past it starts the next one, and a larger publish goes alone. Small enough for any sensible frame
 * limit (the server's default is 8 MiB), large enough to carry hundreds of small publishes.
 */
export const MAX_BATCH_BYTES = 64 * 1024;
/** A publish_batch's own bytes: its type, the `publishes` key and the array header. */
const BATCH_OVERHEAD_BYTES = 64;

/** An upper bound of a publish's encoded size in a batch (UTF-8 takes at most 3 bytes per UTF-16 unit). */
export function encodedSizeBound({ space, segment, payload, metadata, producer }: PublishRequest): number {
  let bytes = 48 + 3 * (space.length + segment.length) + payload.byteLength;
  if (producer !== undefined) bytes += 64 + 3 * producer.id.length;
  if (metadata !== undefined) for (const [key, value] of Object.entries(metadata)) bytes += 10 + 3 * (key.length + value.length);
  return bytes;
}

/** A publish as an item of a publish_batch. */
function batchItem({ space, segment, payload, metadata, producer }: PublishRequest): PublishItem {
  const item: PublishItem = { space, segment, payload };
  if (metadata !== undefined) item.metadata = metadata;
  if (producer !== undefined) item.producer = producer;
  return item;
}

/** The message carrying calls made together: one publish alone, several as a publish_batch. */
export function batchMessage(calls: LaneCall[]): Message {
  return calls.length === 1
    ? (calls[0] as LaneCall).request
    : { $type: MessageTypes.publishBatch, publishes: calls.map((call) => batchItem(call.request)) };
}

/** Calls made together, not yet given to the stream, within one batch's count and byte limits. */
export class Outbox {
  #calls: LaneCall[] = [];
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get length(): number {
    return this.#calls.length;
  }

  /** Whether a publish of `bytes` (its encodedSizeBound) would take the batch past its limits: what is queued goes out first. */
  full(bytes: number): boolean {
    return this.#calls.length >= MAX_PUBLISH_BATCH || BATCH_OVERHEAD_BYTES + this.#bytes + bytes > this.maxBytes;
  }

  push(call: LaneCall, bytes: number): void {
    this.#calls.push(call);
    this.#bytes += bytes;
  }

  /** Takes `call` out of the batch; false if it is not in it. */
  remove(call: LaneCall): boolean {
    const index = this.#calls.indexOf(call);
    if (index < 0) return false;
    this.#calls.splice(index, 1);
    this.#bytes -= encodedSizeBound(call.request);
    return true;
  }

  /** Empties the batch, returning its calls in order. */
  take(): LaneCall[] {
    const calls = this.#calls;
    this.#calls = [];
    this.#bytes = 0;
    return calls;
  }
}
