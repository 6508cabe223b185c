import type { LeaseResult, Record, SegmentStatus, StoreStatus } from "../../pkg/api/index.js";
import { AbstractStore } from "../abstract-store.js";
import type { LeaseDecision } from "../leases.js";
import type { ProduceChain, SegmentRange, SpaceRange, StoredEntry, StoreFeatures, StoreOptions } from "../types.js";
import type { StoreContext } from "./context.js";
import { type LeaseClock, PostgresLeases } from "./leases.js";
import * as reads from "./reads.js";
import { GroupCommit } from "./writes.js";

const FEATURES: StoreFeatures = { reopen: true, durable: true, pipelinedProduce: true };

/**
 * A store in shared PostgreSQL tables. Nothing about the data is cached in the process: every read
 * and status comes from the database, so any number of instances may serve the same store.
 */
export class PostgresStore extends AbstractStore {
  readonly #context: StoreContext;
  readonly #commits: GroupCommit;
  readonly #leases: PostgresLeases;

  constructor(context: StoreContext, leaseClock: LeaseClock, options: StoreOptions = {}) {
    super(context.storeId, FEATURES, options);
    this.#context = context;
    this.#commits = new GroupCommit(context);
    this.#leases = new PostgresLeases(context, leaseClock);
  }

  protected async _produce(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus> {
    return this.#commits.commit(space, segment, records, chain);
  }

  protected async _publish(space: string, segment: string, payload: Uint8Array, metadata: { [key: string]: string }): Promise<SegmentStatus> {
    return this.#commits.publish(space, segment, payload, metadata);
  }

  protected _readSegment(range: SegmentRange): AsyncIterableIterator<StoredEntry> {
    return eachOf(reads.readSegmentChunks(this.#context, range));
  }

  protected override _readSegmentChunks(range: SegmentRange): AsyncIterableIterator<StoredEntry[]> {
    return reads.readSegmentChunks(this.#context, range);
  }

  protected _readSpace(range: SpaceRange): AsyncIterableIterator<StoredEntry> {
    return eachOf(reads.readSpaceChunks(this.#context, range));
  }

  protected override _readSpaceChunks(range: SpaceRange): AsyncIterableIterator<StoredEntry[]> {
    return reads.readSpaceChunks(this.#context, range);
  }

  protected async _peek(space: string, segment: string): Promise<StoredEntry | undefined> {
    return reads.peek(this.#context, space, segment);
  }

  protected async _segmentStatus(space: string, segment: string): Promise<SegmentStatus | undefined> {
    return (await reads.segmentStatuses(this.#context, space, segment))[0];
  }

  protected async _segmentStatuses(space: string): Promise<SegmentStatus[]> {
    return reads.segmentStatuses(this.#context, space);
  }

  protected async _listSpaces(): Promise<string[]> {
    return reads.listSpaces(this.#context);
  }

  protected async _listSegments(space: string): Promise<string[]> {
    return reads.listSegments(this.#context, space);
  }

  protected async _status(): Promise<StoreStatus> {
    return reads.storeStatus(this.#context);
  }

  protected async _updateLease(key: string, decide: LeaseDecision): Promise<LeaseResult> {
    return this.#leases.update(key, decide);
  }

  protected async _close(): Promise<void> {
    // The pool belongs to the factory; a store only finishes what it started.
    await Promise.all([this.#commits.drain(), this.#leases.drain()]);
  }
}

async function* eachOf(chunks: AsyncIterable<StoredEntry[]>): AsyncIterableIterator<StoredEntry> {
  for await (const chunk of chunks) yield* chunk;
}
