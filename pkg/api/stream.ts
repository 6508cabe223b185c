import type { StreamsError } from "./errors.js";

/** What a connection's credentials allow. Undefined on a stream means unrestricted (in-process use). */
export interface Principal {
  /** The token subject, for logs and status. */
  readonly subject?: string;
  /** Whether the principal may read (`read`) or write (`write`) the store. */
  can(storeId: string, access: "read" | "write"): boolean;
}

/** Where a server stream arrived, for operators: its connection (as the operator status names it) and channel. */
export interface StreamOrigin {
  readonly connection: string;
  readonly channel: number;
}

/**
 * The server side of one logical stream, as a transport hands it to a Node.
 * Messages are encoded envelopes; the Node decodes and validates them.
 */
export interface ServerStream {
  /** The next message from the client, or undefined once the client has half-closed. Rejects when the stream is cancelled. */
  receive(): Promise<Uint8Array | undefined>;
  /**
   * Sends one message; resolves when the transport has room for more (flow control). `shared`: the
   * same bytes go to many streams and are never modified, so the transport may send them as they
   * are instead of copying them into a frame of this stream (docs/design.md, "Fan-out").
   */
  send(message: Uint8Array, options?: { shared?: boolean }): Promise<void>;
  /** Ends the stream normally. */
  end(): void;
  /** Ends the stream with an error the client receives. */
  fail(error: StreamsError): void;
  /** Aborted when the client cancels or the connection is lost; the reason is a StreamsError. */
  readonly signal: AbortSignal;
  /** Credentials of the connection; undefined = unrestricted. May change on token refresh. */
  readonly principal?: Principal | undefined;
  /**
   * The stream may write the metadata keys the server reserves (every key starting with `ds.`: the
   * idempotent-publish stamp `ds.producer`/`ds.epoch`/`ds.seq`, the HTTP gateway's `ds.close` and
   * `ds.stream-seq`) in plain produces and publishes. Only the HTTP gateway's in-process provider sets
   * it, for the stream state it records there; no network transport does.
   */
  readonly writesProducerMetadata?: boolean;
  /**
   * Charges memory the handler is about to hold to the connection's budget and returns its release;
   * throws `resource_exhausted` when it does not fit. Absent: the transport keeps no budget.
   */
  reserve?(bytes: number): () => void;
  /** The connection and channel the stream arrived on; absent when the transport has none (in-process). */
  readonly origin?: StreamOrigin | undefined;
}

/** The client side of one logical stream. */
export interface ClientStream {
  send(message: Uint8Array): Promise<void>;
  /** The next message, or undefined when the server ended the stream. Rejects with the StreamsError that ended it. */
  receive(): Promise<Uint8Array | undefined>;
  /** Half-closes: the client sends nothing more. */
  end(): void;
  /** Abandons the stream; pending and later receives reject with `cancelled`. */
  cancel(reason?: unknown): void;
  /**
   * Takes back `message` (given to send) if it has not gone out yet; with no argument, takes back
   * the open itself while the stream waits for a connection, which ends the stream unopened. True
   * when taken back: the server never sees it. Optional: a transport that hands every message over
   * at once has nothing to take back (docs/design.md, "Cancelled before sent").
   */
  withdraw?(message?: Uint8Array): boolean;
}

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "closed";

export interface ConnectionState {
  status: ConnectionStatus;
  reconnects: number;
  /** The server address in use (the last one while reconnecting), for providers that dial one of several. */
  url?: string;
}

/** How a client reaches servers: in-process, WebSocket, … */
export interface Provider {
  /** Opens a logical stream on `storeId` whose first message is `first`. Failures surface on receive. */
  open(storeId: string, first: Uint8Array): ClientStream;
  readonly state: ConnectionState;
  /** Largest encoded message the transport sends, if it has a limit; the SDK keeps its publish batches under it. */
  readonly maxMessageBytes?: number;
  close(): Promise<void>;
}
