import type { Record } from "../api/index.js";
import { requireRecord } from "./args.js";
import type { RecordSource } from "./types.js";

/** Payload bytes per batch, well under the default 8 MiB frame limit; a bigger record travels alone. */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

// A record is "ready" when the source produces it without waiting on I/O or timers. An async
// generator yields a value it already has within about two microtask turns per generator layer, so
// this many turns lets deep generator pipelines count as ready while a source that waits does not.
const READY_TURNS = 32;

/** Approximate wire size of a record, for the batch byte budget. */
function recordBytes(record: Record): number {
  let bytes = record.payload.byteLength + 16;
  if (record.metadata !== undefined) {
    for (const [key, value] of Object.entries(record.metadata)) bytes += key.length + value.length + 4;
  }
  return bytes;
}

/** Whether `promise` settles within a few microtask turns. */
async function settlesPromptly(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  const mark = () => {
    settled = true;
  };
  promise.then(mark, mark);
  for (let turn = 0; turn < READY_TURNS && !settled; turn++) await Promise.resolve();
  return settled;
}

/** One batch being filled: up to `size` records and MAX_BATCH_BYTES (a bigger record travels alone). */
class Batch {
  readonly records: Record[] = [];
  #bytes = 0;
  #closed = false;

  constructor(
    private readonly size: number,
    first: Record | undefined,
  ) {
    if (first !== undefined) this.add(first);
  }

  get full(): boolean {
    return this.#closed || this.records.length >= this.size;
  }

  /** Adds a record, or returns it when it does not fit (the batch is then full). */
  add(record: Record): Record | undefined {
    const bytes = recordBytes(record);
    if (this.records.length > 0 && this.#bytes + bytes > MAX_BATCH_BYTES) {
      this.#closed = true;
      return record;
    }
    this.records.push(record);
    this.#bytes += bytes;
    return undefined;
  }
}

/**
 * Groups a record source into batches (docs/design.md, Contracts): up to `batchSize` records and MAX_BATCH_BYTES,
 * a sync source filling whole batches, an async source's batch sent as soon as its next record is
 * not ready. Each record's type is checked as it is read (TypeError).
 */
export class BatchReader {
  readonly #batchSize: number;
  readonly #sync: Iterator<Record> | undefined;
  readonly #async: AsyncIterator<Record> | undefined;
  #pending: Promise<IteratorResult<Record>> | undefined;
  /** A record read but left for the next batch, which it would have pushed over the byte budget. */
  #carry: Record | undefined;
  #index = 0;
  #done = false;

  constructor(source: RecordSource, batchSize: number) {
    this.#batchSize = batchSize;
    if (Array.isArray(source)) {
      // An array is checked whole up front, so a bad record anywhere sends nothing.
      source.forEach((record, index) => requireRecord(record, `records[${index}]`));
    }
    if (Symbol.asyncIterator in source) this.#async = source[Symbol.asyncIterator]();
    else this.#sync = source[Symbol.iterator]();
  }

  /** The next batch, or undefined when the source is exhausted. */
  async next(): Promise<Record[] | undefined> {
    if (this.#done && this.#carry === undefined) return undefined;
    const batch = this.#sync ? this.#fillSync(this.#sync) : await this.#fillAsync(this.#async as AsyncIterator<Record>);
    return batch.length > 0 ? batch : undefined;
  }

  /** Lets the source go (without waiting on it: a stalled source must not hold up the caller). */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      const result = (this.#sync ?? this.#async)?.return?.();
      if (result instanceof Promise) result.catch(() => undefined);
    } catch {
      // A source failing to clean up does not change the produce's outcome.
    }
  }

  #fillSync(iterator: Iterator<Record>): Record[] {
    const batch = new Batch(this.#batchSize, this.#carry);
    this.#carry = undefined;
    while (!batch.full) {
      const result = iterator.next();
      if (result.done) {
        this.#done = true;
        break;
      }
      this.#carry = batch.add(this.#check(result.value));
    }
    return batch.records;
  }

  async #fillAsync(iterator: AsyncIterator<Record>): Promise<Record[]> {
    const batch = new Batch(this.#batchSize, this.#carry);
    this.#carry = undefined;
    while (!batch.full) {
      this.#pending ??= iterator.next();
      if (batch.records.length > 0 && !(await settlesPromptly(this.#pending))) break;
      const result = await this.#pending;
      this.#pending = undefined;
      if (result.done) {
        this.#done = true;
        break;
      }
      this.#carry = batch.add(this.#check(result.value));
    }
    return batch.records;
  }

  #check(value: unknown): Record {
    return requireRecord(value, `records[${this.#index++}]`);
  }
}
