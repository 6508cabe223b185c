import type { LeaseResult, Record, Retention, SegmentStatus, StoreStatus } from "../../pkg/api/index.js";
import { AbstractStore } from "../abstract-store.js";
import type { LeaseDecision, LeasePage } from "../leases.js";
import type { LeaseInfo, ProduceChain, SegmentRange, SpaceRange, StoredEntry, StoreFeatures, StoreOptions, StoreUsage, SweepOptions, SweepResult } from "../types.js";
import type { StoreContext } from "./context.js";
import { type LeaseClock, PostgresLeases } from "./leases.js";
import * as lifecycle from "./lifecycle.js";
import * as reads from "./reads.js";
import { Reclaimer } from "./reclaim.js";
import { withSweepLock } from "./sweep-lock.js";
import { GroupCommit } from "./writes.js";

/**
 * Lifecycle needs a space's positions to be contiguous, to tell a resume inside a removed range from
 * one after it: "counter" ordering (the default) has that, "xid" ordering does not.
 */
const featuresOf = (context: StoreContext): StoreFeatures => ({ reopen: true, durable: true, pipelinedProduce: true, lifecycle: context.ordering === "counter" });

/**
 * A store in shared PostgreSQL tables. Nothing about the data is cached in the process: every read
 * and status comes from the database, so any number of instances may serve the same store.
 */
export class PostgresStore extends AbstractStore {
  readonly #context: StoreContext;
  readonly #commits: GroupCommit;
  readonly #leases: PostgresLeases;
  readonly #reclaimer: Reclaimer;
  /** Rows of a deleted store still being deleted (the store itself is closed by then). */
  #purging: Promise<void> = Promise.resolve();

  constructor(context: StoreContext, leaseClock: LeaseClock, options: StoreOptions = {}) {
    super(context.storeId, featuresOf(context), options);
    this.#context = context;
    this.#commits = new GroupCommit(context);
    this.#leases = new PostgresLeases(context, leaseClock);
    this.#reclaimer = new Reclaimer(context);
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

  /** The segment row's id is its incarnation: a purge on any instance deletes the row (docs/design.md, Idempotent publish). */
  protected override async _segmentHead(space: string, segment: string): Promise<{ status: SegmentStatus | undefined; incarnation: number }> {
    return reads.segmentHead(this.#context, space, segment);
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

  protected async _listLeases(page: LeasePage): Promise<LeaseInfo[]> {
    return this.#leases.list(page);
  }

  protected override async _deleteSegment(space: string, segment: string, purge: boolean): Promise<SegmentStatus> {
    return this.#changed(await lifecycle.changeSegment(this.#context, space, segment, { kind: "delete", purge }));
  }

  protected override async _deleteSpace(space: string, purge: boolean): Promise<SegmentStatus[]> {
    return (await lifecycle.deleteSpace(this.#context, space, purge)).map((changed) => this.#changed(changed));
  }

  /**
   * Forgets the store's rows at once and closes; the rows are deleted in batches after, by a reclaimer
   * of their own (this store's stops with it). Left unfinished, they are found by any store's sweep.
   */
  protected override async _deleteStore(): Promise<void> {
    await this.#commits.drain();
    const ids = await lifecycle.deleteStore(this.#context);
    const purge = new Reclaimer(this.#context);
    purge.add(ids);
    this.#purging = purge.idle();
    await this.close();
  }

  protected override async _truncateSegment(space: string, segment: string, beforeSequence: number): Promise<SegmentStatus> {
    return this.#changed(await lifecycle.changeSegment(this.#context, space, segment, { kind: "truncate", beforeSequence }));
  }

  protected override async _closeSegment(space: string, segment: string): Promise<SegmentStatus> {
    return (await lifecycle.changeSegment(this.#context, space, segment, { kind: "close" })).status;
  }

  protected override async _setRetention(space: string, retention: Retention): Promise<void> {
    await lifecycle.setRetention(this.#context, space, retention);
  }

  protected override async _retentions(): Promise<Map<string, Retention>> {
    return lifecycle.retentions(this.#context);
  }

  protected override async _usage(): Promise<StoreUsage> {
    return lifecycle.usage(this.#context);
  }

  /**
   * One sweep of this store across every instance at a time (an advisory lock; an instance that finds
   * it taken skips its turn): removed rows left by earlier changes are queued for reclaiming, then
   * each space's retention is enforced.
   */
  override async enforceRetention(options: SweepOptions = {}): Promise<SweepResult> {
    if (this.features.lifecycle !== true || this.closed) return super.enforceRetention(options);
    const swept = await withSweepLock(this.#context, async () => {
      await this.#reclaimer.recover();
      return super.enforceRetention(options);
    });
    return swept ?? { segments: 0, entries: 0 };
  }

  /** Resolves once the rows removed so far have been deleted (tests and the bench wait on it). */
  async reclaimed(): Promise<void> {
    await Promise.all([this.#reclaimer.idle(), this.#purging]);
  }

  #changed(changed: lifecycle.Changed): SegmentStatus {
    if (changed.reclaim !== undefined) this.#reclaimer.add([changed.reclaim]);
    return changed.status;
  }

  protected async _close(): Promise<void> {
    // The pool belongs to the factory; a store only finishes what it started.
    await Promise.all([this.#commits.drain(), this.#leases.drain(), this.#reclaimer.stop()]);
  }
}

async function* eachOf(chunks: AsyncIterable<StoredEntry[]>): AsyncIterableIterator<StoredEntry> {
  for await (const chunk of chunks) yield* chunk;
}
