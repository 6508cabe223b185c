import { FrameKinds, INITIAL_CREDIT, type Principal, type ServerStream, type StreamOrigin, StreamsError } from "../../../pkg/api/internal/index.js";
import type { StreamInfo } from "../../../pkg/server/operator/connections.js";
import type { Access } from "./access.js";
import type { MemoryBudget } from "./memory-budget.js";
import type { SocketWriter } from "./socket-writer.js";
import { waitUntil } from "./wait.js";

/** What a stream needs of its connection. */
export interface ChannelHost {
  /** The connection's id, as the operator status lists it. */
  readonly id: string;
  readonly principal: Principal | undefined;
  readonly writer: SocketWriter;
  /** The connection's memory share: queued client frames and handler reservations are charged to it. */
  readonly budget: MemoryBudget;
  /** The stream is over on the server side: its channel number is free again. */
  release(stream: ChannelStream): void;
}

interface Reader {
  resolve: (message: Uint8Array | undefined) => void;
  reject: (error: unknown) => void;
}

// Credit goes back to the client in batches of half the window: few credit frames, no stall.
const GRANT_BATCH = INITIAL_CREDIT / 2;

/**
 * The server side of one channel, handed to the node. Outgoing data waits for client credit and for
 * room on the socket; incoming data is bounded by the credit granted as the node receives.
 */
export class ChannelStream implements ServerStream {
  readonly channel: number;
  readonly storeId: string;
  readonly access: Access;
  readonly openedAt = Date.now();
  readonly #host: ChannelHost;
  readonly #abort = new AbortController();
  readonly #inbox: Uint8Array[];
  readonly #readers: Reader[] = [];
  readonly #creditWaiters = new Set<() => void>();
  #clientEnded = false;
  #clientCredit = INITIAL_CREDIT - 1; // the open frame cost one
  #consumedSinceGrant = 0;
  #sendCredit = INITIAL_CREDIT;
  #finished = false;
  #framesIn = 1;
  #framesOut = 0;
  #waitingFor: StreamInfo["waitingFor"];
  /** Bytes of the inbox, charged to the connection's budget (the first message was charged by the connection). */
  #inboxBytes: number;
  /** Live reservations of the handler, released when it returns them or the stream is over. */
  readonly #reservations = new Set<{ bytes: number }>();

  constructor(init: { channel: number; storeId: string; access: Access; first: Uint8Array }, host: ChannelHost) {
    this.channel = init.channel;
    this.storeId = init.storeId;
    this.access = init.access;
    this.#inbox = [init.first];
    this.#inboxBytes = init.first.byteLength;
    this.#host = host;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get origin(): StreamOrigin {
    return { connection: this.#host.id, channel: this.channel };
  }

  /** The connection's current principal: a refreshed token applies to open streams at once. */
  get principal(): Principal | undefined {
    return this.#host.principal;
  }

  async receive(): Promise<Uint8Array | undefined> {
    if (this.signal.aborted) throw this.signal.reason;
    const message = this.#inbox.shift();
    if (message !== undefined) {
      this.#inboxBytes -= message.byteLength;
      this.#host.budget.release(message.byteLength);
      this.#consumed();
      return message;
    }
    if (this.#clientEnded) return undefined;
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  async send(message: Uint8Array, options?: { shared?: boolean }): Promise<void> {
    const writer = this.#host.writer;
    for (;;) {
      if (this.signal.aborted) throw this.signal.reason;
      if (this.#finished) throw new StreamsError("internal", "send after the stream ended");
      if (this.#sendCredit === 0) {
        await this.#wait("credit", (wake) => {
          this.#creditWaiters.add(wake);
          return () => this.#creditWaiters.delete(wake);
        });
      } else if (!writer.hasRoom) {
        await this.#wait("drain", (wake) => writer.onRoom(wake));
      } else {
        break;
      }
    }
    this.#sendCredit--;
    this.#framesOut++;
    if (options?.shared === true) writer.writeShared(this.channel, message);
    else writer.write({ kind: FrameKinds.data, channel: this.channel, message });
  }

  end(): void {
    if (this.#finish()) this.#host.writer.write({ kind: FrameKinds.end, channel: this.channel });
  }

  fail(error: StreamsError): void {
    if (this.#finish()) this.#host.writer.write({ kind: FrameKinds.error, channel: this.channel, error: StreamsError.from(error).toInfo() });
  }

  /** A data frame from the client; beyond its credit it fails the stream (`resource_exhausted`). */
  deliver(message: Uint8Array): void {
    this.#framesIn++;
    if (this.#clientEnded) return this.terminate(new StreamsError("invalid_argument", "data after end"));
    if (this.#clientCredit === 0) {
      return this.terminate(new StreamsError("resource_exhausted", "client sent data beyond its credit", { code: "permanent" }));
    }
    this.#clientCredit--;
    const reader = this.#readers.shift();
    if (reader === undefined) {
      const budget = this.#host.budget;
      if (!budget.tryCharge(message.byteLength)) return this.terminate(budget.exhausted(message.byteLength));
      this.#inbox.push(message);
      this.#inboxBytes += message.byteLength;
      return;
    }
    this.#consumed();
    reader.resolve(message);
  }

  /** The client half-closed: receive() returns undefined once the inbox is empty. */
  clientEnd(): void {
    this.#framesIn++;
    this.#clientEnded = true;
    for (const reader of this.#readers.splice(0)) reader.resolve(undefined);
  }

  /** The client granted `credit` more data frames. */
  grant(credit: number): void {
    this.#framesIn++;
    this.#sendCredit = Math.min(Number.MAX_SAFE_INTEGER, this.#sendCredit + credit);
    const waiters = [...this.#creditWaiters];
    this.#creditWaiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Ends the stream from the transport's side: the node's signal aborts with `error` (so it stops)
   * and, when `tellClient`, the client receives it in an error frame.
   */
  terminate(error: StreamsError, tellClient = true): void {
    if (tellClient) this.fail(error);
    else this.#finish();
    if (this.signal.aborted) return;
    this.#abort.abort(error);
    this.#inbox.length = 0;
    this.#host.budget.release(this.#inboxBytes);
    this.#inboxBytes = 0;
    this.#releaseReservations();
    for (const reader of this.#readers.splice(0)) reader.reject(error);
  }

  /**
   * Charges `bytes` the handler is about to hold to the connection's budget; returns the release.
   * Throws `resource_exhausted` when they do not fit. Whatever is still reserved is released when
   * the stream is over.
   */
  reserve(bytes: number): () => void {
    const budget = this.#host.budget;
    if (!budget.tryCharge(bytes)) throw budget.exhausted(bytes);
    const reservation = { bytes };
    this.#reservations.add(reservation);
    return () => {
      if (this.#reservations.delete(reservation)) budget.release(bytes);
    };
  }

  info(): StreamInfo {
    return {
      channel: this.channel,
      storeId: this.storeId,
      access: this.access,
      openedAt: this.openedAt,
      framesIn: this.#framesIn,
      framesOut: this.#framesOut,
      queued: this.#inbox.length,
      sendCredit: this.#sendCredit,
      waitingFor: this.#waitingFor,
    };
  }

  async #wait(what: "credit" | "drain", subscribe: (wake: () => void) => () => void): Promise<void> {
    this.#waitingFor = what;
    try {
      await waitUntil(this.signal, subscribe);
    } finally {
      this.#waitingFor = undefined;
    }
  }

  /** The node took a message: grant the client credit for it, in batches. */
  #consumed(): void {
    this.#consumedSinceGrant++;
    if (this.#consumedSinceGrant < GRANT_BATCH || this.#finished || this.#clientEnded) return;
    const credit = this.#consumedSinceGrant;
    this.#consumedSinceGrant = 0;
    this.#clientCredit += credit;
    this.#host.writer.write({ kind: FrameKinds.credit, channel: this.channel, credit });
  }

  #releaseReservations(): void {
    for (const reservation of this.#reservations) this.#host.budget.release(reservation.bytes);
    this.#reservations.clear();
  }

  /** Marks the server side done; false when it already was. */
  #finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.#releaseReservations();
    this.#host.release(this);
    return true;
  }
}
