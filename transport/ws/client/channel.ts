import {
  type ClientStream,
  cancelledError,
  type Frame,
  FrameKinds,
  INITIAL_CREDIT,
  StreamsError,
} from "../../../pkg/api/internal/index.js";

/** How an attached channel reaches its connection. */
export interface ChannelLink {
  /** Encodes and sends a frame; throws `resource_exhausted` when it exceeds the frame limit. */
  sendFrame(frame: Frame): void;
  /** The channel is done: its number is free. */
  release(): void;
}

// Credit is granted back in batches: half the window keeps the server streaming without a frame per message.
const GRANT_BATCH = INITIAL_CREDIT / 2;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

interface OutgoingMessage extends Waiter<void> {
  message: Uint8Array;
}

/**
 * One logical stream on the shared connection. It may be created before the connection is up
 * (`attach` sends its open frame later). Data goes out only with credit; credit goes back to the
 * server as the caller consumes messages, so an unread stream stalls only itself.
 */
export class Channel implements ClientStream {
  readonly storeId: string;
  #first: Uint8Array;
  /** Takes a channel that never got a connection off the waiting list. */
  readonly #unqueue: (channel: Channel) => void;
  #link: ChannelLink | undefined;
  #id: number | undefined;
  /** The open frame went out: the server knows this channel. */
  #opened = false;
  #sendCredit = INITIAL_CREDIT - 1; // the open frame costs one
  #peerCredit = INITIAL_CREDIT;
  #consumedSinceGrant = 0;
  readonly #outbox: OutgoingMessage[] = [];
  readonly #inbox: Uint8Array[] = [];
  readonly #readers: Waiter<Uint8Array | undefined>[] = [];
  #endRequested = false;
  #endSent = false;
  /** How the stream ended: normally ("ended") or with an error. Queued messages are still delivered. */
  #outcome: "ended" | StreamsError | undefined;

  constructor(storeId: string, first: Uint8Array, unqueue: (channel: Channel) => void) {
    this.storeId = storeId;
    this.#first = first;
    this.#unqueue = unqueue;
  }

  get done(): boolean {
    return this.#outcome !== undefined;
  }

  /** Sends the open frame on channel `id` of a connection, then whatever the caller queued meanwhile. */
  attach(id: number, link: ChannelLink): void {
    if (this.done) return;
    this.#id = id;
    this.#link = link;
    if (!this.#trySend({ kind: FrameKinds.open, channel: id, storeId: this.storeId, message: this.#first })) return;
    this.#opened = true;
    this.#first = new Uint8Array(0);
    this.#flush();
  }

  async send(message: Uint8Array): Promise<void> {
    if (!(message instanceof Uint8Array)) throw new TypeError("message must be a Uint8Array");
    if (this.#outcome instanceof StreamsError) throw this.#outcome;
    if (this.#outcome === "ended") throw new StreamsError("cancelled", "stream already ended by the server");
    if (this.#endRequested) throw new StreamsError("internal", "send after end");
    return new Promise<void>((resolve, reject) => {
      this.#outbox.push({ message, resolve, reject });
      this.#flush();
    });
  }

  async receive(): Promise<Uint8Array | undefined> {
    const message = this.#inbox.shift();
    if (message !== undefined) {
      this.#consumed();
      return message;
    }
    if (this.#outcome === "ended") return undefined;
    if (this.#outcome) throw this.#outcome;
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  end(): void {
    if (this.#endRequested || this.done) return;
    this.#endRequested = true;
    this.#flush();
  }

  withdraw(message?: Uint8Array): boolean {
    if (this.done) return false;
    if (message === undefined) {
      // The open is still waiting for a connection: end the channel before the server hears of it.
      if (this.#opened) return false;
      this.cancel();
      return true;
    }
    const index = this.#outbox.findIndex((queued) => queued.message === message);
    if (index < 0) return false;
    this.#outbox.splice(index, 1)[0]?.resolve();
    return true;
  }

  cancel(reason?: unknown): void {
    const announce = this.#openId !== undefined && !this.done;
    this.#inbox.length = 0;
    if (!(this.#outcome instanceof StreamsError)) {
      this.#outcome = cancelledError();
      if (reason !== undefined) Object.defineProperty(this.#outcome, "cause", { value: reason });
    }
    this.#settle(this.#outcome);
    if (announce) this.#sendCancel();
  }

  /** A frame the server sent on this channel. */
  onFrame(frame: Frame): void {
    if (this.done) return;
    switch (frame.kind) {
      case FrameKinds.data:
        if (this.#peerCredit === 0) return this.abandon(new StreamsError("internal", "server sent data beyond its credit"));
        this.#peerCredit--;
        this.#deliver(frame.message);
        return;
      case FrameKinds.credit:
        this.#sendCredit += frame.credit;
        this.#flush();
        return;
      case FrameKinds.end:
        this.#finish("ended");
        return;
      case FrameKinds.error:
        this.#finish(StreamsError.fromInfo(frame.error));
        return;
      default:
        this.abandon(new StreamsError("internal", `unexpected frame kind ${frame.kind} from the server`));
    }
  }

  /** The connection is gone: the stream fails now, queued messages included. */
  connectionLost(error: StreamsError): void {
    if (this.done) return;
    this.#inbox.length = 0;
    this.#finish(error);
  }

  /** Ends the stream with `error` on this side and tells the server to drop it. */
  abandon(error: StreamsError): void {
    if (this.done) return;
    this.#inbox.length = 0;
    this.#finish(error);
    this.#sendCancel();
  }

  #deliver(message: Uint8Array): void {
    const reader = this.#readers.shift();
    if (!reader) {
      this.#inbox.push(message);
      return;
    }
    this.#consumed();
    reader.resolve(message);
  }

  /** The caller took a message: grant the server credit for it, in batches. */
  #consumed(): void {
    const id = this.#openId;
    if (this.done || id === undefined) return;
    this.#consumedSinceGrant++;
    if (this.#consumedSinceGrant < GRANT_BATCH) return;
    const credit = this.#consumedSinceGrant;
    this.#consumedSinceGrant = 0;
    this.#peerCredit += credit;
    this.#sendQuietly({ kind: FrameKinds.credit, channel: id, credit });
  }

  #flush(): void {
    const id = this.#id;
    if (id === undefined || this.done) return;
    while (this.#sendCredit > 0) {
      const next = this.#outbox[0];
      if (!next) break;
      if (!this.#trySend({ kind: FrameKinds.data, channel: id, message: next.message })) return;
      this.#outbox.shift();
      this.#sendCredit--;
      next.resolve();
    }
    if (this.#endRequested && !this.#endSent && this.#outbox.length === 0) {
      this.#endSent = true;
      this.#trySend({ kind: FrameKinds.end, channel: id });
    }
  }

  /** Sends a frame of this stream; a frame the connection refuses (too large) fails the stream. */
  #trySend(frame: Frame): boolean {
    try {
      this.#link?.sendFrame(frame);
      return true;
    } catch (error) {
      this.abandon(StreamsError.from(error));
      return false;
    }
  }

  /** The channel number once the open frame went out (the server knows the channel), else undefined. */
  get #openId(): number | undefined {
    return this.#opened ? this.#id : undefined;
  }

  #sendCancel(): void {
    const id = this.#openId;
    if (id !== undefined) this.#sendQuietly({ kind: FrameKinds.cancel, channel: id });
  }

  #sendQuietly(frame: Frame): void {
    try {
      this.#link?.sendFrame(frame);
    } catch {
      // Control frames are tiny; a send on a closing socket fails with the connection, which reports it.
    }
  }

  #finish(outcome: "ended" | StreamsError): void {
    this.#outcome = outcome;
    this.#settle(outcome);
  }

  /** Wakes every waiter for the outcome and lets go of the channel number. */
  #settle(outcome: "ended" | StreamsError): void {
    if (this.#outbox.length > 0) {
      // Built only when a send is waiting: an Error's stack costs more than the rest of a stream's end.
      const sendError = outcome === "ended" ? new StreamsError("cancelled", "stream ended by the server") : outcome;
      for (const writer of this.#outbox.splice(0)) writer.reject(sendError);
    }
    if (this.#inbox.length === 0) {
      for (const reader of this.#readers.splice(0)) {
        if (outcome === "ended") reader.resolve(undefined);
        else reader.reject(outcome);
      }
    }
    if (this.#link) this.#link.release();
    else this.#unqueue(this);
  }
}
