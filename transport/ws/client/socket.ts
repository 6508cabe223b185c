import { StreamsError } from "../../../pkg/api/index.js";

/** An open WebSocket as the provider uses it: binary frames out, a close, and how much is still queued. */
export interface FrameSocket {
  send(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

/** What a socket reports once it is open. */
export interface SocketHandlers {
  onFrame(bytes: Uint8Array): void;
  onClose(code: number, reason: string): void;
}

export interface DialRequest {
  url: string;
  token: string | undefined;
  maxFrameBytes: number;
  handlers: SocketHandlers;
  /** Aborted when the dial takes too long or the provider closes; the dial then rejects. */
  signal: AbortSignal;
}

/**
 * Opens one WebSocket. Resolves once it is open; rejects with a StreamsError: `unauthenticated` when
 * the server refused the token (HTTP 401), otherwise a transient kind.
 */
export type Dialer = (request: DialRequest) => Promise<FrameSocket>;

// Handlers typed as methods so both the DOM WebSocket and `ws`'s event shapes fit (method parameters are bivariant).
interface Handler<E> {
  handle(event: E): void;
}

/** The members of a browser WebSocket the provider uses; the DOM WebSocket and `ws` both have them. */
export interface BrowserLikeSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown>["handle"] | null;
  onmessage: Handler<{ data: unknown }>["handle"] | null;
  onclose: Handler<{ code: number; reason: string }>["handle"] | null;
  onerror: Handler<unknown>["handle"] | null;
}

/** The error a failed upgrade becomes: 401 is permanent, anything else may pass on a retry. */
export function upgradeRefused(status: number, reason: string): StreamsError {
  const detail = reason.trim() === "" ? `HTTP ${status}` : `HTTP ${status}: ${reason.trim()}`;
  if (status === 401) return new StreamsError("unauthenticated", `server refused the token (${detail})`, { details: { status } });
  return new StreamsError("unavailable", `server refused the connection (${detail})`, { details: { status } });
}

export function dialAborted(signal: AbortSignal): StreamsError {
  return StreamsError.from(signal.reason, "unavailable");
}
