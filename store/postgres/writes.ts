import { Buffer } from "node:buffer";
import { failedPrecondition, type Record, type SegmentStatus, sequenceConflict } from "../../pkg/api/internal/index.js";
import type { ProduceChain } from "../types.js";
import { type StoreContext, XID_POSITIONS } from "./context.js";
import { databaseError } from "./outage.js";

/** Records and payload bytes one commit group holds at most: a bounded statement, and positions per transaction in "xid" ordering. */
const MAX_GROUP_RECORDS = 20_000;
const MAX_GROUP_BYTES = 16 * 1024 * 1024;

interface QueuedBatch {
  space: string;
  segment: string;
  /** 0 for a publish: the database picks the next sequence. */
  first: number;
  records: readonly Record[];
  bytes: number;
  chain: ProduceChain | undefined;
  resolve(status: SegmentStatus): void;
  reject(error: unknown): void;
}

interface CommitRow {
  r_outcome: "ok" | "conflict" | "closed" | "chain";
  r_expected: string | null;
  r_actual: string | null;
  r_first_sequence: string | null;
  r_first_timestamp: string | null;
  r_last_sequence: string | null;
  r_last_timestamp: string | null;
}

/**
 * Group commit on PostgreSQL: batches queued while a commit runs go together in the next one — one
 * statement, one transaction, one WAL flush — so durability costs little throughput. One commit runs
 * at a time per store, in queue order, so a produce stream's pipelined batches are checked in order
 * against everything committed before them; the database checks sequences under the segment's row
 * lock, so concurrent producers on other instances are serialized with these.
 */
export class GroupCommit {
  readonly #context: StoreContext;
  readonly #sql: string;
  #open: QueuedBatch[] = [];
  #writing: Promise<void> | undefined;
  #flushScheduled = false;

  constructor(context: StoreContext) {
    this.#context = context;
    this.#sql = `SELECT * FROM ${context.schema}.commit_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`;
  }

  /** Queues a produce batch; resolves with the segment's head once committed. */
  commit(space: string, segment: string, records: readonly Record[], chain?: ProduceChain): Promise<SegmentStatus> {
    return this.#queue(space, segment, (records[0] as Record).sequence, records, chain);
  }

  /** Queues one record at the segment's next sequence as of its commit: never a conflict. */
  publish(space: string, segment: string, payload: Uint8Array, metadata: { [key: string]: string }): Promise<SegmentStatus> {
    return this.#queue(space, segment, 0, [{ sequence: 0, payload, metadata }], undefined);
  }

  /** Resolves once every queued batch has committed or failed. */
  async drain(): Promise<void> {
    while (this.#writing !== undefined || this.#open.length > 0) {
      if (this.#writing === undefined) this.#flush();
      await this.#writing;
    }
  }

  #queue(space: string, segment: string, first: number, records: readonly Record[], chain: ProduceChain | undefined): Promise<SegmentStatus> {
    return new Promise<SegmentStatus>((resolve, rejectBatch) => {
      const reject = (error: unknown): void => {
        if (chain !== undefined) chain.failure ??= error;
        rejectBatch(error);
      };
      if (chain?.failure !== undefined) return reject(chain.failure);
      let bytes = 0;
      for (const record of records) bytes += record.payload.byteLength;
      this.#open.push({ space, segment, first, records, bytes, chain, resolve, reject });
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#writing !== undefined || this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After this turn of the event loop, so batches that arrive together share the commit.
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#writing === undefined) this.#flush();
    });
  }

  #flush(): void {
    const group = this.#take();
    if (group.length === 0) return;
    this.#writing = this.#write(group).finally(() => {
      this.#writing = undefined;
      if (this.#open.length > 0) this.#flush();
    });
  }

  /** The next group: queued batches up to the group bounds (at least one), minus those of failed chains. */
  #take(): QueuedBatch[] {
    const group: QueuedBatch[] = [];
    let records = 0;
    let bytes = 0;
    while (this.#open.length > 0) {
      const next = this.#open[0] as QueuedBatch;
      if (group.length > 0 && (records + next.records.length > MAX_GROUP_RECORDS || bytes + next.bytes > MAX_GROUP_BYTES)) break;
      this.#open.shift();
      // A batch of a chain that failed in an earlier group is refused unplaced (ProduceChain).
      if (next.chain?.failure !== undefined) {
        next.reject(next.chain.failure);
        continue;
      }
      group.push(next);
      records += next.records.length;
      bytes += next.bytes;
    }
    return group;
  }

  async #write(group: QueuedBatch[]): Promise<void> {
    const units = unitsOf(group);
    let rows: CommitRow[];
    try {
      const result = await this.#context.pool.query<CommitRow>({ text: this.#sql, values: this.#parameters(units) });
      rows = result.rows;
    } catch (error) {
      const reason = databaseError(error, "commit");
      for (const queued of group) queued.reject(reason);
      return;
    }
    units.forEach((unit, i) => settle(unit, rows[i]));
  }

  #parameters(units: readonly QueuedBatch[][]): unknown[] {
    const chains = new Map<ProduceChain, number>();
    const spaces: string[] = [];
    const segments: string[] = [];
    const firsts: number[] = [];
    const counts: number[] = [];
    const chainIds: number[] = [];
    const breakExpected: number[] = [];
    const breakActual: number[] = [];
    const payloads: Buffer[] = [];
    const starts: number[] = [];
    const lengths: number[] = [];
    const metadata: (string | null)[] = [];
    let offset = 1;
    for (const unit of units) {
      const head = unit[0] as QueuedBatch;
      spaces.push(head.space);
      segments.push(head.segment);
      firsts.push(head.first);
      let chainId = 0;
      if (head.chain !== undefined) {
        chainId = chains.get(head.chain) ?? chains.size + 1;
        chains.set(head.chain, chainId);
      }
      chainIds.push(chainId);
      const gap = firstGap(head);
      breakExpected.push(gap?.expected ?? 0);
      breakActual.push(gap?.actual ?? 0);
      let count = 0;
      for (const queued of unit) {
        for (const record of queued.records) {
          const { payload } = record;
          payloads.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
          starts.push(offset);
          lengths.push(payload.byteLength);
          offset += payload.byteLength;
          metadata.push(record.metadata === undefined || Object.keys(record.metadata).length === 0 ? null : JSON.stringify(record.metadata));
          count++;
        }
      }
      counts.push(count);
    }
    const { storeId, nodeId, ordering } = this.#context;
    if (ordering === "xid" && starts.length >= XID_POSITIONS) throw new RangeError("commit group over the positions of one transaction");
    return [
      storeId,
      nodeId,
      Date.now(),
      ordering === "xid",
      spaces,
      segments,
      firsts,
      counts,
      chainIds,
      breakExpected,
      breakActual,
      Buffer.concat(payloads),
      starts,
      lengths,
      metadata,
    ];
  }
}

/**
 * What the database commits as one batch: a produce batch alone, or a run of publishes queued one
 * after another to one segment (one batch, one trx, consecutive sequences), which makes a burst of
 * publishes as cheap to commit as one produce batch.
 */
function unitsOf(group: readonly QueuedBatch[]): QueuedBatch[][] {
  const units: QueuedBatch[][] = [];
  for (const queued of group) {
    const last = units.at(-1);
    const previous = last?.[0];
    if (last !== undefined && previous !== undefined && previous.first === 0 && queued.first === 0 && previous.space === queued.space && previous.segment === queued.segment) {
      last.push(queued);
    } else {
      units.push([queued]);
    }
  }
  return units;
}

/** Where a produce batch stops being contiguous, as the conflict it is when its start is right (docs/design.md, Contracts: Sequences). */
function firstGap(queued: QueuedBatch): { expected: number; actual: number } | undefined {
  if (queued.first === 0) return undefined;
  for (let i = 1; i < queued.records.length; i++) {
    const actual = (queued.records[i] as Record).sequence;
    if (actual !== queued.first + i) return { expected: queued.first + i, actual };
  }
  return undefined;
}

function settle(unit: readonly QueuedBatch[], row: CommitRow | undefined): void {
  if (row === undefined) {
    for (const queued of unit) queued.reject(databaseError(new Error("no result for a batch"), "commit"));
    return;
  }
  const head = unit[0] as QueuedBatch;
  if (row.r_outcome === "ok") {
    // Each publish of a run is answered with the head as of its own entry.
    const lastSequence = Number(row.r_last_sequence);
    unit.forEach((queued, i) =>
      queued.resolve({
        space: queued.space,
        segment: queued.segment,
        firstSequence: Number(row.r_first_sequence),
        firstTimestamp: Number(row.r_first_timestamp),
        lastSequence: lastSequence - (unit.length - 1 - i),
        lastTimestamp: Number(row.r_last_timestamp),
      }),
    );
    return;
  }
  if (row.r_outcome === "conflict") return head.reject(sequenceConflict(Number(row.r_expected), Number(row.r_actual)));
  if (row.r_outcome === "closed") {
    const error = failedPrecondition(`segment ${head.segment} of space ${head.space} is closed`);
    for (const queued of unit) queued.reject(error);
    return;
  }
  // 'chain': an earlier batch of this chain failed in the same group, and marked the chain.
  head.reject(head.chain?.failure);
}
