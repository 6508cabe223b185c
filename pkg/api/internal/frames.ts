import { Packr } from "msgpackr";
import { type ErrorInfo, StreamsError } from "../errors.js";

/**
 * Frames multiplex logical streams (channels) on one WebSocket connection. Each WebSocket binary
 * message is one frame, a msgpack array `[kind, channel, ...fields]`:
 *
 * | kind    | fields                         | direction        | meaning                                            |
 * |---------|--------------------------------|------------------|----------------------------------------------------|
 * | open    | storeId, first message (bin)   | client → server  | opens channel `channel` with its first message     |
 * | data    | message (bin)                  | both             | one encoded envelope (costs the sender one credit) |
 * | end     |                                | both             | half-close: the sender sends nothing more           |
 * | error   | ErrorInfo                      | both             | ends the channel with an error                     |
 * | cancel  |                                | client → server  | abandons the channel                               |
 * | credit  | n                              | both             | the receiver grants the sender n more data frames  |
 * | refresh | token                          | client → server  | a fresh token for the connection (channel 0)       |
 * | refreshed | ok, expiresAt?, ErrorInfo?   | server → client  | answer to a refresh (channel 0)                    |
 *
 * Channels are positive integers chosen by the client. Each side may send INITIAL_CREDIT data frames
 * per channel (the open counts as one on the client side) before it must wait for credit.
 */
export const FrameKinds = {
  open: 1,
  data: 2,
  end: 3,
  error: 4,
  cancel: 5,
  credit: 6,
  refresh: 7,
  refreshed: 8,
} as const;

export type FrameKind = (typeof FrameKinds)[keyof typeof FrameKinds];

/** Data frames a sender may have outstanding on a channel before it needs credit. */
export const INITIAL_CREDIT = 32;

export type Frame =
  | { kind: typeof FrameKinds.open; channel: number; storeId: string; message: Uint8Array }
  | { kind: typeof FrameKinds.data; channel: number; message: Uint8Array }
  | { kind: typeof FrameKinds.end; channel: number }
  | { kind: typeof FrameKinds.error; channel: number; error: ErrorInfo }
  | { kind: typeof FrameKinds.cancel; channel: number }
  | { kind: typeof FrameKinds.credit; channel: number; credit: number }
  | { kind: typeof FrameKinds.refresh; channel: 0; token: string }
  | { kind: typeof FrameKinds.refreshed; channel: 0; ok: boolean; expiresAt?: number; error?: ErrorInfo };

const framePackr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.kind) {
    case FrameKinds.open:
      return framePackr.pack([frame.kind, frame.channel, frame.storeId, frame.message]);
    case FrameKinds.data:
      return encodeDataFrame(frame.channel, frame.message);
    case FrameKinds.end:
    case FrameKinds.cancel:
      return framePackr.pack([frame.kind, frame.channel]);
    case FrameKinds.error:
      return framePackr.pack([frame.kind, frame.channel, frame.error]);
    case FrameKinds.credit:
      return framePackr.pack([frame.kind, frame.channel, frame.credit]);
    case FrameKinds.refresh:
      return framePackr.pack([frame.kind, 0, frame.token]);
    case FrameKinds.refreshed:
      return framePackr.pack([frame.kind, 0, frame.ok, frame.expiresAt ?? null, frame.error ?? null]);
  }
}

/**
 * `[2, channel, bin]` written directly: data frames are most of the traffic, and msgpackr's generic
 * path (an extension lookup for every byte array) costs several times this.
 */
function encodeDataFrame(channel: number, message: Uint8Array): Uint8Array {
  if (!isChannel32(channel)) return framePackr.pack([FrameKinds.data, channel, message]);
  const head = dataFrameHead(channel, message.byteLength, message.byteLength);
  head.set(message, head.byteLength - message.byteLength);
  return head;
}

const isChannel32 = (channel: number): boolean => Number.isInteger(channel) && channel >= 0 && channel <= 0xffff_ffff;

/**
 * The bytes of a data frame before its message: `encodeFrame({ kind: data, channel, message })` is
 * this followed by the message's bytes. A sender can then send a message shared by many channels
 * (docs/design.md, "Fan-out") without copying it into a frame per channel.
 */
export function encodeDataFrameHead(channel: number, length: number): Uint8Array {
  if (!isChannel32(channel)) throw new RangeError(`channel ${channel} is not a frame channel`);
  return dataFrameHead(channel, length, 0);
}

/** The head of a data frame of `length` message bytes, in an array with `room` bytes to spare after it. */
function dataFrameHead(channel: number, length: number, room: number): Uint8Array {
  const channelBytes = channel < 0x80 ? 1 : channel < 0x100 ? 2 : channel < 0x1_0000 ? 3 : 5;
  const lengthBytes = length < 0x100 ? 1 : length < 0x1_0000 ? 2 : 4;
  const bytes = new Uint8Array(3 + channelBytes + lengthBytes + room);
  bytes[0] = 0x93; // fixarray of 3
  bytes[1] = FrameKinds.data; // positive fixint
  let at = 2;
  if (channelBytes === 1) bytes[at++] = channel;
  else at = writeUint(bytes, at, channelBytes === 2 ? 0xcc : channelBytes === 3 ? 0xcd : 0xce, channel, channelBytes - 1);
  writeUint(bytes, at, lengthBytes === 1 ? 0xc4 : lengthBytes === 2 ? 0xc5 : 0xc6, length, lengthBytes);
  return bytes;
}

/** Writes a type byte then `value` big-endian in `size` bytes; returns the next offset. */
function writeUint(bytes: Uint8Array, at: number, type: number, value: number, size: number): number {
  bytes[at++] = type;
  for (let shift = (size - 1) * 8; shift >= 0; shift -= 8) bytes[at++] = (value / 2 ** shift) & 0xff;
  return at;
}

/** A frame that could not be decoded; `channel` is set when the frame could still be attributed to one. */
export class FrameError extends StreamsError {
  constructor(
    message: string,
    readonly channel: number | undefined,
  ) {
    super("invalid_argument", message);
  }
}

const isChannel = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** Decodes a frame; throws FrameError (with the channel when it is known) on malformed input. */
export function decodeFrame(bytes: Uint8Array): Frame {
  let value: unknown;
  try {
    value = framePackr.unpack(bytes);
  } catch (error) {
    throw malformed(error);
  }
  return toFrame(value);
}

function malformed(error: unknown): FrameError {
  return new FrameError(`malformed frame: ${error instanceof Error ? error.message : String(error)}`, undefined);
}

function toFrame(value: unknown): Frame {
  if (!Array.isArray(value) || value.length < 2) throw new FrameError("malformed frame: not a [kind, channel, ...] array", undefined);
  const [kind, channel] = value as unknown[];
  if (!isChannel(channel)) throw new FrameError("malformed frame: bad channel", undefined);
  const bad = (what: string) => new FrameError(`malformed ${what} frame`, channel);
  switch (kind) {
    case FrameKinds.open: {
      const [, , storeId, message] = value as unknown[];
      if (typeof storeId !== "string" || !(message instanceof Uint8Array) || channel === 0) throw bad("open");
      return { kind, channel, storeId, message };
    }
    case FrameKinds.data: {
      const message = (value as unknown[])[2];
      if (!(message instanceof Uint8Array)) throw bad("data");
      return { kind, channel, message };
    }
    case FrameKinds.end:
    case FrameKinds.cancel:
      return { kind, channel };
    case FrameKinds.error: {
      const error = (value as unknown[])[2];
      if (typeof error !== "object" || error === null) throw bad("error");
      return { kind, channel, error: error as ErrorInfo };
    }
    case FrameKinds.credit: {
      const credit = (value as unknown[])[2];
      if (typeof credit !== "number" || !Number.isSafeInteger(credit) || credit < 1) throw bad("credit");
      return { kind, channel, credit };
    }
    case FrameKinds.refresh: {
      const token = (value as unknown[])[2];
      if (typeof token !== "string" || channel !== 0) throw bad("refresh");
      return { kind, channel: 0, token };
    }
    case FrameKinds.refreshed: {
      const [, , ok, expiresAt, error] = value as unknown[];
      if (typeof ok !== "boolean" || channel !== 0) throw bad("refreshed");
      const frame: Frame = { kind, channel: 0, ok };
      if (typeof expiresAt === "number") frame.expiresAt = expiresAt;
      if (typeof error === "object" && error !== null) frame.error = error as ErrorInfo;
      return frame;
    }
    default:
      throw new FrameError(`unknown frame kind ${String(kind)}`, channel);
  }
}
