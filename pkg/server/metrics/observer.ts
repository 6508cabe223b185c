import type { Message, Response, StreamsError } from "../../api/internal/index.js";

/**
 * Why a node left the manager other than shutdown: idle eviction, an explicit `remove` (an operator's
 * evict), or making room under `maxOpenStores` (docs/tenants.md).
 */
export type EvictionReason = "idle" | "removed" | "capacity";

/** Hears one logical stream's traffic as the node handles it. Calls must be cheap and must never throw. */
export interface StreamObserver {
  /** A message decoded from the client; the first one names the operation. */
  received(message: Message): void;
  /** A message the handler is about to send (a segment_status here means its batch committed). */
  sending(message: Response): void;
  /**
   * The stream ended, once: `error` is what it ended with (undefined: normally); `clientGone` is
   * true when the client cancelled or its connection dropped, so the end is not a server failure.
   */
  ended(error: StreamsError | undefined, clientGone: boolean): void;
}

/**
 * What the NodeManager and its nodes report as they work. Metrics and status implement it; the
 * server's core classes only call it, so they need no metrics library.
 */
export interface ServerObserver {
  /** A node took a stream of `storeId`; the returned observer hears that stream. */
  streamStarted(storeId: string): StreamObserver;
  /**
   * A stream failed before reaching a node (bad store id, store open failure, open circuit, or the
   * transport's own refusals: scope, stream limit); `op` from its first message when known.
   */
  streamRefused(storeId: string, error: StreamsError, op?: string): void;
  nodeEvicted(storeId: string, reason: EvictionReason): void;
  /** A store id's circuit breaker opened (after the threshold of failed opens, or a failed trial). */
  circuitOpened(storeId: string): void;
  /** A store commit (produce batch or publish) took `seconds` until durable (fsync included). */
  commitTimed?(storeId: string, seconds: number): void;
}

const ignore = (): void => undefined;

export const noopStreamObserver: StreamObserver = { received: ignore, sending: ignore, ended: ignore };

/** The default observer: hears nothing. */
export const noopObserver: ServerObserver = {
  streamStarted: () => noopStreamObserver,
  streamRefused: ignore,
  nodeEvicted: ignore,
  circuitOpened: ignore,
};

/** One observer that forwards to both. */
export function teeStreamObserver(first: StreamObserver, second: StreamObserver): StreamObserver {
  if (first === noopStreamObserver) return second;
  if (second === noopStreamObserver) return first;
  return {
    received: (message) => {
      first.received(message);
      second.received(message);
    },
    sending: (message) => {
      first.sending(message);
      second.sending(message);
    },
    ended: (error, clientGone) => {
      first.ended(error, clientGone);
      second.ended(error, clientGone);
    },
  };
}
