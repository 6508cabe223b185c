import { decodeFrame, encodeFrame, type Frame, FrameError, FrameKinds, StreamsError } from "../../../pkg/api/internal/index.js";
import type { Channel } from "./channel.js";
import type { FrameSocket } from "./socket.js";
import type { RefresherOptions } from "./token-refresher.js";
import { TokenRefresher } from "./token-refresher.js";

/** One open WebSocket and the channels on it, numbered from 1 by this side. */
export class Connection {
  readonly socket: FrameSocket;
  /** Settles once the socket has closed. */
  readonly closed: Promise<void>;
  readonly #maxFrameBytes: number;
  readonly #channels = new Map<number, Channel>();
  #nextChannel = 1;
  #refresher: TokenRefresher | undefined;

  constructor(socket: FrameSocket, closed: Promise<void>, maxFrameBytes: number) {
    this.socket = socket;
    this.closed = closed;
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Numbers the channel and sends its open frame (and whatever it queued) on this connection. */
  attach(channel: Channel): void {
    const id = this.#nextChannel++;
    this.#channels.set(id, channel);
    channel.attach(id, {
      sendFrame: (frame) => this.send(frame),
      release: () => {
        if (this.#channels.get(id) === channel) this.#channels.delete(id);
      },
    });
  }

  /** Encodes and sends a frame; `resource_exhausted` when it exceeds the frame limit (nothing is sent). */
  send(frame: Frame): void {
    const bytes = encodeFrame(frame);
    if (bytes.byteLength > this.#maxFrameBytes) {
      throw new StreamsError("resource_exhausted", `frame of ${bytes.byteLength} bytes exceeds maxFrameBytes ${this.#maxFrameBytes}`, { code: "permanent" });
    }
    this.socket.send(bytes);
  }

  /** Keeps this connection's token fresh in band, starting from the token it was opened with. */
  startRefresher(token: string, options: Omit<RefresherOptions, "sendRefresh">): void {
    this.#refresher = new TokenRefresher({ ...options, sendRefresh: (fresh) => this.send({ kind: FrameKinds.refresh, channel: 0, token: fresh }) });
    this.#refresher.start(token);
  }

  /** Routes one frame from the server. */
  onFrame(bytes: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      const channel = error instanceof FrameError && error.channel !== undefined ? this.#channels.get(error.channel) : undefined;
      if (channel) channel.abandon(new StreamsError("internal", `server sent a malformed frame: ${StreamsError.from(error).message}`));
      else this.socket.close(1002, "malformed frame");
      return;
    }
    if (frame.kind === FrameKinds.refreshed) {
      this.#refresher?.onRefreshed(frame.ok, frame.error);
      return;
    }
    // Frames for a channel already let go of (cancelled, ended) are late, not wrong.
    this.#channels.get(frame.channel)?.onFrame(frame);
  }

  /** The connection is gone (or being closed): every stream on it fails with `error`. */
  drop(error: StreamsError): void {
    this.#refresher?.stop();
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const channel of channels) channel.connectionLost(error);
  }
}
