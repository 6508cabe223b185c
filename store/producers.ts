import { type Producer, type SegmentStatus, StreamsError } from "../pkg/api/internal/index.js";
import { type ProducerStoreOps, readBackwards } from "./producer-reads.js";
import { type Ack, type ProducerTrack, SegmentProducers, stampedAck } from "./producer-state.js";
import { fenced, fingerprintOf, notStored, reusedStamp, stampOf, stamped } from "./producer-stamps.js";

export type { ProducerStoreOps } from "./producer-reads.js";

/**
 * Idempotent publish (docs/design.md, Idempotent publish). A publish stamped with a Producer is
 * stored with its stamp in the entry's metadata (PRODUCER_METADATA), in the same commit, so the data
 * itself is the dedupe state on every backend and survives restarts; the HTTP gateway's producers
 * write the same keys. This index is what a store has read of it: per segment, each producer's
 * epoch, latest sequence and recent acknowledgements. It is a cache, bounded by `maxProducers`
 * (least recently used segments go, and are read again from the data, newest first, when needed).
 *
 * A stamped publish is a produce at the head it has read (a compare-and-set), so two attempts of one
 * publish — a retry racing its first attempt, on one instance or two sharing storage — store it once.
 */

/** Attempts to write at a segment's head while other writers keep moving it. */
const ATTEMPTS = 50;
/** Stamped publishes, and payload bytes, one batch of a segment holds at most. */
const MAX_GROUP = 256;
const MAX_GROUP_BYTES = 1024 * 1024;

/** Acknowledgements that answer a retry (the publish was stored before), so the server does not announce them as new. */
const repeated = new WeakSet<SegmentStatus>();

/** Whether `status` answers a retried publish that was stored before (nothing new was committed). */
export function isRepeatedAck(status: SegmentStatus): boolean {
  return repeated.has(status);
}

/** The decision on a stamped publish, given what its segment's data says. */
type Verdict = { store: true } | { ack: Ack } | { search: true };

function decide(track: ProducerTrack | undefined, producer: Producer): Verdict {
  if (track === undefined || producer.epoch > track.epoch) return { store: true };
  if (producer.epoch < track.epoch) throw fenced(producer, track.epoch);
  const ack = track.acks.get(producer.sequence);
  if (ack !== undefined) return { ack };
  if (producer.sequence > track.sequence) return { store: true };
  if (producer.sequence < (track.oldest?.[0] ?? track.sequence)) return { search: true };
  throw notStored(producer, track.sequence);
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
  readonly fingerprint: number;
  resolve(status: SegmentStatus): void;
  reject(error: unknown): void;
  done: boolean;
}

type Segment = SegmentProducers<Pending>;

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

/** The acknowledgement of a stored publish, unless what is stored differs from `pending` (another publish under its stamp). */
function sameContent(pending: Pending, ack: Ack): Ack {
  if (ack.fingerprint !== pending.fingerprint) throw reusedStamp(pending.producer, ack.sequence);
  return ack;
}

/** One store's idempotent publishes: the producer states of its recently written segments. */
export class ProducerIndex {
  /** Least recently used first. */
  readonly #segments = new Map<string, Segment>();
  /** Segments, producers and acknowledgements kept, summed over segments (SegmentProducers.size). */
  readonly #tally = { size: 0 };

  /** `maxProducers`: segments, producers and acknowledgements kept at most, beyond the segments being written. */
  constructor(
    readonly maxProducers: number,
    readonly store: ProducerStoreOps,
  ) {}

  /** What the index keeps now, counted as `maxProducers` bounds it. */
  get size(): number {
    return this.#tally.size;
  }

  /**
   * Stores a stamped publish once: a repeat gets the first attempt's acknowledgement. The stamped
   * publishes that queue up for a segment while its previous ones commit go in one batch.
   */
  publish(space: string, segment: string, payload: Uint8Array, metadata: { [key: string]: string }, producer: Producer): Promise<SegmentStatus> {
    const key = `${space}\u0000${segment}`;
    let state = this.#segments.get(key);
    if (state === undefined) {
      state = new SegmentProducers<Pending>(this.#tally);
    } else {
      this.#segments.delete(key);
    }
    this.#segments.set(key, state);
    const fingerprint = fingerprintOf(payload, metadata);
    const segmentState = state;
    return new Promise<SegmentStatus>((resolve, reject) => {
      segmentState.queue.push({ payload, metadata, producer, fingerprint, resolve, reject, done: false });
      if (!segmentState.running) void this.#drain(segmentState, space, segment);
    });
  }

  async #drain(state: Segment, space: string, segment: string): Promise<void> {
    state.running = true;
    try {
      while (state.queue.length > 0) {
        const group = takeGroup(state.queue);
        try {
          await this.#commit(state, space, segment, group);
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
  async #commit(state: Segment, space: string, segment: string, group: Pending[]): Promise<void> {
    let next = 0;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const head = await this.#catchUp(state, space, segment);
      await this.#find(state, space, segment, head, group);
      const plan = await this.#plan(state, space, segment, head, group);
      if (plan.store.length === 0) return;
      // After a conflict with writes not readable yet (queued behind a commit), past them.
      const first = Math.max(state.scanned + 1, next);
      const records = plan.store.map((pending, i) => ({ sequence: first + i, payload: pending.payload, metadata: stamped(pending.metadata, pending.producer) }));
      let status: SegmentStatus;
      try {
        status = await this.store.produce(space, segment, records);
      } catch (error) {
        const expected = conflictExpected(error);
        if (expected === undefined) throw error;
        next = expected;
        continue;
      }
      const acks = plan.store.map((pending, i): Ack => {
        const ack = { sequence: status.lastSequence - records.length + 1 + i, timestamp: status.lastTimestamp, fingerprint: pending.fingerprint };
        state.applyNewer(pending.producer, ack);
        return ack;
      });
      // Written right after what was read (the compare-and-set held): the next catch-up need not read it back.
      if (first === state.scanned + 1) state.scanned = status.lastSequence;
      // Within the bound before anyone hears back (this segment, being written, stays).
      this.#evict();
      plan.store.forEach((pending, i) => answer(pending, { ...status, lastSequence: (acks[i] as Ack).sequence, lastTimestamp: status.lastTimestamp }));
      for (const [pending, index] of plan.repeats) answer(pending, repeat(space, segment, status, acks[index] as Ack));
      return;
    }
    throw new StreamsError("unavailable", `segment ${segment} of space ${space} is being written by others; try again`);
  }

  /**
   * Decides each unanswered publish of a group against the segment's producer states and the group's
   * publishes before it: repeats of stored ones and refusals are answered here.
   */
  async #plan(state: Segment, space: string, segment: string, head: SegmentStatus | undefined, group: Pending[]): Promise<Plan> {
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
            if ((plan.store[index] as Pending).fingerprint !== pending.fingerprint) throw reusedStamp(producer, undefined);
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
        const ack = "ack" in verdict ? verdict.ack : await this.#search(space, segment, head, track, producer);
        if (ack === undefined) throw notStored(producer, mine?.sequence ?? track?.sequence ?? -1);
        answer(pending, repeat(space, segment, head, sameContent(pending, ack)));
      } catch (error) {
        refuse(pending, error);
      }
    }
    return plan;
  }

  /**
   * Brings the state to the committed head: reads the entries after what it has seen, or starts again
   * (reading nothing yet) when the segment is new to it or was purged since (its incarnation changed).
   */
  async #catchUp(state: Segment, space: string, segment: string): Promise<SegmentStatus | undefined> {
    const { status: head, incarnation } = await this.store.segmentHead(space, segment);
    const last = head?.lastSequence ?? 0;
    if (state.incarnation !== incarnation || last < state.scanned) {
      state.reset(incarnation, last);
      return head;
    }
    const from = Math.max(state.scanned + 1, head?.firstSequence ?? 1);
    if (from <= last) {
      try {
        for await (const entry of this.store.readSegment({ space, segment, minSequence: from, maxSequence: last })) {
          const found = stampedAck(entry);
          if (found !== undefined) state.applyNewer(found.stamp, found.ack);
        }
      } catch (error) {
        if (!(error instanceof StreamsError) || error.kind !== "out_of_range") throw error;
        // Truncated or purged meanwhile: start again from this head.
        state.reset(incarnation, last);
        return head;
      }
    }
    state.scanned = Math.max(state.scanned, last);
    return head;
  }

  /**
   * Reads the segment backwards below what the state knows until it has each producer of the group
   * (its newest entry) or every kept entry: only then is a producer not found a new one. Stops as
   * soon as each is found, keeping no other producer it passes (SegmentProducers.applyOlder).
   */
  async #find(state: Segment, space: string, segment: string, head: SegmentStatus | undefined, group: Pending[]): Promise<void> {
    const firstKept = head?.firstSequence ?? 1;
    if (state.complete(firstKept)) return;
    const missing = new Set<string>();
    for (const pending of group) if (!pending.done && !state.producers.has(pending.producer.id)) missing.add(pending.producer.id);
    if (missing.size === 0) return;
    let to = state.floor - 1;
    for await (const { from, entries } of readBackwards(this.store, space, segment, to, firstKept)) {
      const stamps = [];
      const wanted = new Set<string>();
      for (const entry of entries) {
        const found = stampedAck(entry);
        if (found === undefined) continue;
        if (missing.delete(found.stamp.id)) wanted.add(found.stamp.id);
        stamps.push(found);
      }
      // The rest of a run read is applied (older acknowledgements of the producers kept come with it).
      state.applyOlder(stamps, from, to, wanted);
      to = from - 1;
      if (missing.size === 0) return;
    }
  }

  /**
   * Finds a publish older than the producer's kept acknowledgements in the segment's data: backwards
   * from below the oldest kept, until the producer's entries go below the sequence looked for.
   */
  async #search(space: string, segment: string, head: SegmentStatus | undefined, track: ProducerTrack | undefined, producer: Producer): Promise<Ack | undefined> {
    // Its newest entry is known (Segment#find): with none, or of another epoch, there is nothing to find.
    if (track === undefined || track.epoch !== producer.epoch) return undefined;
    const below = (track.oldest?.[1].sequence ?? (head?.lastSequence ?? 0) + 1) - 1;
    for await (const { entries } of readBackwards(this.store, space, segment, below, head?.firstSequence ?? 1)) {
      for (const entry of entries) {
        const stamp = stampOf(entry.metadata);
        if (stamp === undefined || stamp.id !== producer.id) continue;
        const { epoch, sequence } = stamp;
        if (epoch === producer.epoch && sequence === producer.sequence) return stampedAck(entry)?.ack;
        if (epoch < producer.epoch || (epoch === producer.epoch && sequence < producer.sequence)) return undefined;
      }
    }
    return undefined;
  }

  /** Drops the least recently used segments' states (not those being written) while over the bound. */
  #evict(): void {
    for (const [key, state] of this.#segments) {
      if (this.#tally.size <= this.maxProducers) return;
      if (state.running) continue;
      this.#segments.delete(key);
      state.drop();
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
