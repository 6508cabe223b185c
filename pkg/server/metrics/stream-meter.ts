import {
  type EntryGroup,
  type LeaseResult,
  type Message,
  MessageTypes,
  opName,
  type Response,
  StreamsError,
  uncheckedPayloadBytes,
} from "../../api/internal/index.js";
import type { StreamObserver } from "./observer.js";
import { secondsSince } from "./timings.js";

/** What a stream is for the live counts: a status subscription, a registered worker, or neither. */
export type StreamRole = "subscription" | "worker" | undefined;

/** Where a StreamMeter reports (ServerActivity). */
export interface ActivityRecorder {
  opened(storeId: string, op: string, role: StreamRole): void;
  produced(storeId: string, entries: number, bytes: number): void;
  consumed(storeId: string, entries: number, bytes: number): void;
  leaseResult(storeId: string, key: string, result: LeaseResult): void;
  /** A request failed without ending its stream (a publish of a lane answered with an error). */
  failed(storeId: string, op: string, error: StreamsError): void;
  /** A request answered after `seconds` (the stream's first message, or a later batch or publish). */
  requestTimed(op: string, seconds: number): void;
  /** A live entry of a follow was handed to the connection `seconds` after its commit timestamp. */
  followLag(seconds: number): void;
  /** `op` is undefined when the stream ended before a first message was decoded. */
  closed(storeId: string, op: string | undefined, role: StreamRole, error: StreamsError | undefined, clientGone: boolean): void;
}

interface PendingBatch {
  entries: number;
  bytes: number;
  /** performance.now() when it arrived. */
  at: number;
}

const payloadBytes = (items: readonly { payload: Uint8Array }[]): number => items.reduce((sum, item) => sum + item.payload.byteLength, 0);

/** Entries and payload bytes of an `entries` message's groups. */
function groupsSize(groups: readonly EntryGroup[]): [entries: number, bytes: number] {
  let entries = 0;
  let bytes = 0;
  for (const group of groups) {
    entries += group.payloads.length;
    for (const payload of group.payloads) bytes += payload.byteLength;
  }
  return [entries, bytes];
}

function roleOf(message: Message): StreamRole {
  if (message.$type === MessageTypes.subscribeToSegmentStatus) return "subscription";
  if (message.$type === MessageTypes.subscribeWorkers && typeof message.workerId === "string") return "worker";
  return undefined;
}

/**
 * Turns one stream's messages into counts: the first message names the op; record batches wait
 * until their segment_status answer says they committed (answers come in batch order), and so do
 * the publishes of a publish lane (a result each, in order; a refused message was never counted);
 * `entries` messages count as consumed. Bytes are payload bytes.
 *
 * Request durations: the first message until the first message sent back, and each later batch or
 * publish until its answer. Follow lag: after `caught_up`, the oldest group of each `entries` message.
 */
export class StreamMeter implements StreamObserver {
  readonly #recorder: ActivityRecorder;
  readonly #storeId: string;
  readonly #pending: PendingBatch[] = [];
  #op: string | undefined;
  #role: StreamRole;
  #leaseKey: string | undefined;
  /** performance.now() of the first message, until the first answer. */
  #firstAt: number | undefined;
  #live = false;

  constructor(recorder: ActivityRecorder, storeId: string) {
    this.#recorder = recorder;
    this.#storeId = storeId;
  }

  received(message: Message): void {
    if (this.#op === undefined) {
      this.#first(message);
      return;
    }
    const at = performance.now();
    if (message.$type === MessageTypes.recordBatch) {
      this.#pending.push({ entries: message.records.length, bytes: payloadBytes(message.records), at });
    } else if (message.$type === MessageTypes.publish) {
      this.#pending.push({ entries: 1, bytes: message.payload.byteLength, at });
    } else if (message.$type === MessageTypes.publishBatch) {
      for (const item of message.publishes) this.#pending.push({ entries: 1, bytes: uncheckedPayloadBytes(item), at });
    }
  }

  sending(message: Response): void {
    if (this.#firstAt !== undefined && this.#op !== undefined) {
      this.#recorder.requestTimed(this.#op, secondsSince(this.#firstAt));
      this.#firstAt = undefined;
    }
    switch (message.$type) {
      case MessageTypes.entries:
        this.#recorder.consumed(this.#storeId, ...groupsSize(message.groups));
        if (this.#live && message.groups[0] !== undefined) this.#recorder.followLag(Math.max(0, Date.now() - message.groups[0].timestamp) / 1000);
        return;
      case MessageTypes.caughtUp:
        this.#live = true;
        return;
      case MessageTypes.segmentStatus:
        return this.#committed();
      case MessageTypes.publishResults: {
        // One result per pending publish, in order; only commits count.
        let entries = 0;
        let bytes = 0;
        for (const result of message.results) {
          const publish = this.#pending.shift();
          if ("error" in result) this.#recorder.failed(this.#storeId, this.#op ?? "publish", StreamsError.fromInfo(result.error));
          if (publish === undefined) continue;
          this.#timed(publish);
          if ("error" in result) continue;
          entries += publish.entries;
          bytes += publish.bytes;
        }
        if (entries > 0) this.#recorder.produced(this.#storeId, entries, bytes);
        return;
      }
      case MessageTypes.publishError:
        this.#recorder.failed(this.#storeId, this.#op ?? "publish", StreamsError.fromInfo(message.error));
        return;
      case MessageTypes.leaseResult:
        if (this.#leaseKey !== undefined) this.#recorder.leaseResult(this.#storeId, this.#leaseKey, message);
        return;
      default:
        return;
    }
  }

  ended(error: StreamsError | undefined, clientGone: boolean): void {
    // A request answered by the stream's end alone (an error, or a read with nothing to send);
    // a failed batch or publish is answered by the error that ends its stream.
    if (this.#firstAt !== undefined && this.#op !== undefined) this.#recorder.requestTimed(this.#op, secondsSince(this.#firstAt));
    this.#firstAt = undefined;
    const failed = this.#pending[0];
    if (error !== undefined && !clientGone && failed !== undefined) this.#timed(failed);
    this.#recorder.closed(this.#storeId, this.#op, this.#role, error, clientGone);
  }

  #first(message: Message): void {
    this.#op = opName(message.$type);
    this.#role = roleOf(message);
    const at = performance.now();
    // A publish's own answer times it; a produce's first batch is timed by its status.
    if (message.$type === MessageTypes.publish) this.#pending.push({ entries: 1, bytes: message.payload.byteLength, at });
    else if (message.$type !== MessageTypes.produce) this.#firstAt = at;
    if (message.$type === MessageTypes.leaseAcquire || message.$type === MessageTypes.leaseRenew || message.$type === MessageTypes.leaseRelease) {
      this.#leaseKey = message.key;
    }
    this.#recorder.opened(this.#storeId, this.#op, this.#role);
  }

  /** A segment_status on a produce or publish stream answers a commit; on a subscription it is only news. */
  #committed(): void {
    if (this.#op === "publish" || this.#op === "produce") {
      const batch = this.#pending.shift();
      if (batch === undefined) return;
      this.#timed(batch);
      this.#recorder.produced(this.#storeId, batch.entries, batch.bytes);
    }
  }

  #timed(request: PendingBatch): void {
    if (this.#op !== undefined) this.#recorder.requestTimed(this.#op, secondsSince(request.at));
  }
}
