import { type Producer, PRODUCER_METADATA, type SegmentStatus, StreamsError } from "../pkg/api/internal/index.js";
import type { Store, StoredEntry } from "./types.js";

/**
 * Idempotent publish (docs/design.md, Idempotent publish). A publish stamped with a Producer is
 * stored with its stamp in the entry's metadata (PRODUCER_METADATA), in the same commit, so the data
 * itself is the dedupe state on every backend and survives restarts; the HTTP gateway's producers
 * write the same keys. This index is what a store has read of it: per segment, each producer's
 * epoch, latest sequence and recent acknowledgements. It is a cache, bounded by `maxProducers`
 * (least recently used segments go, and are read again from the data when next needed).
 *
 * A stamped publish is a produce at the head it has read (a compare-and-set), so two attempts of one
 * publish — a retry racing its first attempt, on one instance or two sharing storage — store it once.
 */

/** Acknowledgements kept per producer and segment; a retry of an older publish is looked up in the data. */
const ACK_WINDOW = 256;
/** Attempts to write at a segment's head while other writers keep moving it. */
const ATTEMPTS = 50;
/** Stamped publishes, and payload bytes, one batch of a segment holds at most. */
const MAX_GROUP = 256;
const MAX_GROUP_BYTES = 1024 * 1024;

interface Ack {
  sequence: number;
  timestamp: number;
}

/** One producer's state in one segment. */
class ProducerTrack {
  /** Acknowledgements by producer sequence, oldest first, at most ACK_WINDOW. */
  readonly acks = new Map<number, Ack>();
  /** The latest entry applied, so entries read again never move the state back. */
  entry = 0;
  sequence = -1;

  constructor(public epoch: number) {}

  apply(epoch: number, sequence: number, ack: Ack): void {
    if (ack.sequence <= this.entry || epoch < this.epoch) return;
    this.entry = ack.sequence;
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.acks.clear();
      this.sequence = -1;
    }
    this.acks.set(sequence, ack);
    if (sequence > this.sequence) this.sequence = sequence;
    if (this.acks.size > ACK_WINDOW) this.acks.delete(this.acks.keys().next().value as number);
  }

  /** The oldest producer sequence whose acknowledgement is kept. */
  get oldest(): number {
    return this.acks.keys().next().value ?? this.sequence;
  }
}

/** What the data of one segment says about its producers, read up to `scanned`. */
class SegmentProducers {
  readonly producers = new Map<string, ProducerTrack>();
  scanned = 0;
  /** Stamped publishes waiting: one group at a time is stored (each reads what the one before wrote). */
  readonly queue: Pending[] = [];
  running = false;

  /** Applies an entry's stamp, if it has one; returns how many producers it added. */
  apply(entry: Pick<StoredEntry, "sequence" | "timestamp" | "metadata">): number {
    const stamp = stampOf(entry.metadata);
    if (stamp === undefined) return 0;
    let track = this.producers.get(stamp.id);
    const added = track === undefined ? 1 : 0;
    if (track === undefined) {
      track = new ProducerTrack(stamp.epoch);
      this.producers.set(stamp.id, track);
    }
    track.apply(stamp.epoch, stamp.sequence, { sequence: entry.sequence, timestamp: entry.timestamp });
    return added;
  }
}

/** The stamp an entry's metadata records, if any. */
function stampOf(metadata: { [key: string]: string }): Producer | undefined {
  const id = metadata[PRODUCER_METADATA.producer];
  if (id === undefined) return undefined;
  const epoch = Number(metadata[PRODUCER_METADATA.epoch]);
  const sequence = Number(metadata[PRODUCER_METADATA.sequence]);
  if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(sequence)) return undefined;
  return { id, epoch, sequence };
}

/** The metadata that stores a publish's stamp with it. */
function stamped(metadata: { [key: string]: string }, producer: Producer): { [key: string]: string } {
  return {
    ...metadata,
    [PRODUCER_METADATA.producer]: producer.id,
    [PRODUCER_METADATA.epoch]: String(producer.epoch),
    [PRODUCER_METADATA.sequence]: String(producer.sequence),
  };
}

/** Acknowledgements that answer a retry (the publish was stored before), so the server does not announce them as new. */
const repeated = new WeakSet<SegmentStatus>();

/** Whether `status` answers a retried publish that was stored before (nothing new was committed). */
export function isRepeatedAck(status: SegmentStatus): boolean {
  return repeated.has(status);
}

type StoreOps = Pick<Store, "produce" | "readSegment" | "segmentStatus">;

/** The decision on a stamped publish, given what its segment's data says. */
type Verdict = { store: true } | { ack: Ack } | { search: true };

function decide(track: ProducerTrack | undefined, producer: Producer): Verdict {
  if (track === undefined || producer.epoch > track.epoch) return { store: true };
  if (producer.epoch < track.epoch) throw fenced(producer, track.epoch);
  const ack = track.acks.get(producer.sequence);
  if (ack !== undefined) return { ack };
  if (producer.sequence > track.sequence) return { store: true };
  if (producer.sequence < track.oldest) return { search: true };
  throw notStored(producer, track.sequence);
}

function fenced(producer: Producer, epoch: number): StreamsError {
  return new StreamsError("failed_precondition", `producer ${producer.id} is fenced: epoch ${producer.epoch} is older than its current epoch ${epoch}`, {
    details: { producer: producer.id, epoch },
  });
}

function notStored(producer: Producer, latest: number): StreamsError {
  return new StreamsError(
    "failed_precondition",
    `publish ${producer.sequence} of producer ${producer.id} (epoch ${producer.epoch}) was not stored, and the producer has stored publish ${latest} since`,
    { details: { producer: producer.id, epoch: producer.epoch, sequence: latest } },
  );
}

function conflictExpected(error: unknown): number | undefined {
  if (!(error instanceof StreamsError) || error.kind !== "sequence_conflict") return undefined;
  const expected = error.details?.expected;
  return typeof expected === "number" ? expected : 0;
}

/** A stamped publish waiting for its segment's turn. */
interface Pending {
  readonly payload: Uint8Array;
  readonly metadata: { [key: string]: string };
  readonly producer: Producer;
  resolve(status: SegmentStatus): void;
  reject(error: unknown): void;
  done: boolean;
}

function answer(pending: Pending, status: SegmentStatus): void {
  if (pending.done) return;
  pending.done = true;
  pending.resolve(status);
}

function refuse(pending: Pending, error: unknown): void {
  if (pending.done) return;
  pending.done = true;
  pending.reject(error);
}

/** The next publishes of a segment's queue that go in one batch: at least one, at most MAX_GROUP and MAX_GROUP_BYTES. */
function takeGroup(queue: Pending[]): Pending[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < MAX_GROUP) {
    bytes += (queue[count] as Pending).payload.byteLength;
    if (count > 0 && bytes > MAX_GROUP_BYTES) break;
    count++;
  }
  return queue.splice(0, count);
}

/** What a group's publishes come to: those to store, in order, and those repeating one of them (by index). */
interface Plan {
  store: Pending[];
  repeats: [Pending, number][];
}

/** One store's idempotent publishes: the producer states of its recently written segments. */
export class ProducerIndex {
  /** Least recently used first. */
  readonly #segments = new Map<string, SegmentProducers>();
  #tracked = 0;

  /** `maxProducers`: producer states kept at most (summed over segments), beyond the segments being written. */
  constructor(readonly maxProducers: number) {}

  /**
   * Stores a stamped publish once: a repeat gets the first attempt's acknowledgement. The stamped
   * publishes that queue up for a segment while its previous ones commit go in one batch.
   */
  publish(store: StoreOps, space: string, segment: string, payload: Uint8Array, metadata: { [key: string]: string }, producer: Producer): Promise<SegmentStatus> {
    const key = `${space}\u0000${segment}`;
    const state = this.#segments.get(key) ?? new SegmentProducers();
    this.#segments.delete(key);
    this.#segments.set(key, state);
    return new Promise<SegmentStatus>((resolve, reject) => {
      state.queue.push({ payload, metadata, producer, resolve, reject, done: false });
      if (!state.running) void this.#drain(store, state, space, segment);
    });
  }

  async #drain(store: StoreOps, state: SegmentProducers, space: string, segment: string): Promise<void> {
    state.running = true;
    try {
      while (state.queue.length > 0) {
        const group = takeGroup(state.queue);
        try {
          await this.#commit(store, state, space, segment, group);
        } catch (error) {
          for (const pending of group) refuse(pending, error);
        }
      }
    } finally {
      state.running = false;
      this.#evict();
    }
  }

  /** Stores a group's new publishes as one batch at the head read, answering repeats and refusals on the way. */
  async #commit(store: StoreOps, state: SegmentProducers, space: string, segment: string, group: Pending[]): Promise<void> {
    let next = 0;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const head = await this.#catchUp(store, state, space, segment);
      const plan = await this.#plan(store, state, space, segment, head, group);
      if (plan.store.length === 0) return;
      // After a conflict with writes not readable yet (queued behind a commit), past them.
      const first = Math.max(state.scanned + 1, next);
      const records = plan.store.map((pending, i) => ({ sequence: first + i, payload: pending.payload, metadata: stamped(pending.metadata, pending.producer) }));
      let status: SegmentStatus;
      try {
        status = await store.produce(space, segment, records);
      } catch (error) {
        const expected = conflictExpected(error);
        if (expected === undefined) throw error;
        next = expected;
        continue;
      }
      const acks = plan.store.map((pending, i): Ack => {
        const ack = { sequence: status.lastSequence - records.length + 1 + i, timestamp: status.lastTimestamp };
        this.#tracked += state.apply({ ...ack, metadata: stamped({}, pending.producer) });
        answer(pending, { ...status, lastSequence: ack.sequence, lastTimestamp: ack.timestamp });
        return ack;
      });
      for (const [pending, index] of plan.repeats) answer(pending, repeat(space, segment, status, acks[index] as Ack));
      return;
    }
    throw new StreamsError("unavailable", `segment ${segment} of space ${space} is being written by others; try again`);
  }

  /**
   * Decides each unanswered publish of a group against the segment's producer states and the group's
   * publishes before it: repeats of stored ones and refusals are answered here.
   */
  async #plan(store: StoreOps, state: SegmentProducers, space: string, segment: string, head: SegmentStatus | undefined, group: Pending[]): Promise<Plan> {
    const plan: Plan = { store: [], repeats: [] };
    /** Per producer id, what the group stores: its epoch, latest sequence and each sequence's index in plan.store. */
    const local = new Map<string, { epoch: number; sequence: number; indexes: Map<number, number> }>();
    for (const pending of group) {
      if (pending.done) continue;
      const { producer } = pending;
      const track = state.producers.get(producer.id);
      const mine = local.get(producer.id);
      try {
        let verdict: Verdict;
        if (mine !== undefined && producer.epoch <= mine.epoch) {
          if (producer.epoch < mine.epoch) throw fenced(producer, mine.epoch);
          const index = mine.indexes.get(producer.sequence);
          if (index !== undefined) {
            plan.repeats.push([pending, index]);
            continue;
          }
          // Below what the group stores, only a publish stored before can match.
          verdict = producer.sequence > mine.sequence ? { store: true } : track?.epoch === producer.epoch ? decide(track, producer) : { search: true };
          if ("store" in verdict && producer.sequence < mine.sequence) throw notStored(producer, mine.sequence);
        } else {
          verdict = decide(track, producer);
        }
        if ("store" in verdict) {
          const index = plan.store.push(pending) - 1;
          if (mine === undefined || producer.epoch > mine.epoch) {
            local.set(producer.id, { epoch: producer.epoch, sequence: producer.sequence, indexes: new Map([[producer.sequence, index]]) });
          } else {
            mine.sequence = producer.sequence;
            mine.indexes.set(producer.sequence, index);
          }
          continue;
        }
        const ack = "ack" in verdict ? verdict.ack : await search(store, space, segment, head, producer);
        if (ack === undefined) throw notStored(producer, mine?.sequence ?? track?.sequence ?? -1);
        answer(pending, repeat(space, segment, head, ack));
      } catch (error) {
        refuse(pending, error);
      }
    }
    return plan;
  }

  /** Reads the segment's entries the state has not seen, up to the committed head; returns the head. */
  async #catchUp(store: StoreOps, state: SegmentProducers, space: string, segment: string): Promise<SegmentStatus | undefined> {
    const head = await store.segmentStatus(space, segment);
    const last = head?.lastSequence ?? 0;
    if (last < state.scanned) {
      // The store was deleted and made again: nothing read before applies.
      this.#tracked -= state.producers.size;
      state.producers.clear();
      state.scanned = 0;
    }
    const from = Math.max(state.scanned + 1, head?.firstSequence ?? 1);
    if (from <= last) {
      for await (const entry of store.readSegment({ space, segment, minSequence: from, maxSequence: last })) this.#tracked += state.apply(entry);
    }
    state.scanned = Math.max(state.scanned, last);
    return head;
  }

  /**
   * Forgets a purged segment's producer states (docs/lifecycle.md): its sequences start again, so
   * nothing read of it before applies. A publish under way finds the state again from the data.
   */
  forget(space: string, segment: string): void {
    const key = `${space}\u0000${segment}`;
    const state = this.#segments.get(key);
    if (state === undefined) return;
    this.#tracked -= state.producers.size;
    state.producers.clear();
    state.scanned = 0;
  }

  /** Drops the least recently used segments' states (not those being written) while over the bound. */
  #evict(): void {
    for (const [key, state] of this.#segments) {
      if (this.#tracked <= this.maxProducers) return;
      if (state.running) continue;
      this.#segments.delete(key);
      this.#tracked -= state.producers.size;
    }
  }
}

function repeat(space: string, segment: string, head: SegmentStatus | undefined, ack: Ack): SegmentStatus {
  const status: SegmentStatus = {
    space,
    segment,
    firstSequence: head?.firstSequence ?? ack.sequence,
    firstTimestamp: head?.firstTimestamp ?? ack.timestamp,
    lastSequence: ack.sequence,
    lastTimestamp: ack.timestamp,
  };
  repeated.add(status);
  return status;
}

/** Finds a publish older than the acknowledgements kept, in the segment's data. */
async function search(store: StoreOps, space: string, segment: string, head: SegmentStatus | undefined, producer: Producer): Promise<Ack | undefined> {
  const last = head?.lastSequence ?? 0;
  for await (const entry of store.readSegment({ space, segment, minSequence: 0, maxSequence: last })) {
    const stamp = stampOf(entry.metadata);
    if (stamp?.id === producer.id && stamp.epoch === producer.epoch && stamp.sequence === producer.sequence) {
      return { sequence: entry.sequence, timestamp: entry.timestamp };
    }
  }
  return undefined;
}
