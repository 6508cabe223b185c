import type { ClientStream } from "../api/internal/index.js";
import type { LaneCall } from "./publish-call.js";

/** A message given to the stream: the open (`bytes` undefined) or a data message, and the calls it carries. */
export interface SentMessage {
  calls: LaneCall[];
  bytes: Uint8Array | undefined;
}

/** What taking back an aborted call's message did (docs/design.md, "Cancelled before sent"). */
export type Withdrawal =
  /** The message may have gone out. `requeue`: calls of later messages taken back meanwhile, to queue again in order. */
  | { kind: "kept"; requeue: LaneCall[] }
  /** A data message taken back: its other calls and those of the later messages taken back with it, to queue again in order. */
  | { kind: "taken"; requeue: LaneCall[] }
  /** The open taken back, with every later message: the lane ends unopened and `calls` (in order) go to another lane. */
  | { kind: "unopened"; calls: LaneCall[] };

/** Takes back (withdraws) every message of `messages` the transport still holds; returns those. */
function takeBack(messages: SentMessage[], withdraw: (bytes?: Uint8Array) => boolean): SentMessage[] {
  return messages.filter((message) => message.bytes !== undefined && withdraw(message.bytes));
}

/**
 * Takes back the message at `index` of `sent` (the lane's unanswered messages, in order), which
 * carries `aborted`, if the transport has not sent it; removes what it takes back from `sent`.
 */
export function withdrawSent(sent: SentMessage[], index: number, aborted: LaneCall, stream: ClientStream): Withdrawal {
  const message = sent[index];
  const withdraw = stream.withdraw?.bind(stream);
  if (message === undefined || withdraw === undefined) return { kind: "kept", requeue: [] };
  if (message.bytes !== undefined) {
    if (!withdraw(message.bytes)) return { kind: "kept", requeue: [] };
    // The transport sends in order, so every later message is unsent too: take those back as well,
    // or the calls queued again would go out after them, out of the order they were made in.
    const later = sent.splice(index).slice(1);
    const back = takeBack(later, withdraw);
    sent.push(...later.filter((queued) => !back.includes(queued)));
    return { kind: "taken", requeue: [...message.calls.filter((call) => call !== aborted), ...back.flatMap((queued) => queued.calls)] };
  }
  // The open carries the lane: take back every later message first (each is behind the open), so
  // that ending the stream unopened fails none of them.
  const later = sent.splice(index + 1);
  const back = takeBack(later, withdraw);
  sent.push(...later.filter((queued) => !back.includes(queued)));
  if (sent.length > 1 || !withdraw()) return { kind: "kept", requeue: back.flatMap((queued) => queued.calls) };
  sent.length = 0;
  return { kind: "unopened", calls: [...message.calls, ...back.flatMap((queued) => queued.calls)] };
}
