/**
 * What the operator surface knows of the connections a transport holds: it lists them and closes
 * one. The operator owns this interface and the transport implements it, so layers point down
 * (docs/design.md, Layers).
 */
export interface ConnectionDirectory {
  connections(): ConnectionInfo[];
  /** Closes one connection; false when no connection has that id. */
  closeConnection(id: string, options?: CloseConnectionOptions): boolean;
}

export interface CloseConnectionOptions {
  /** WebSocket close code. */
  code?: number;
  reason?: string;
}

export interface ConnectionInfo {
  id: string;
  remoteAddress: string | undefined;
  userAgent: string | undefined;
  subject: string | undefined;
  openedAt: number;
  lastPongAt: number | undefined;
  /** A ping has gone unanswered for a full ping interval; one more and the connection is dropped. */
  stale: boolean;
  streams: StreamInfo[];
  bytesIn: number;
  bytesOut: number;
  /** Bytes handed to the socket and not yet flushed to the kernel. */
  bufferedBytes: number;
  /** Reading from the socket is paused until the peer drains what it was sent (docs/limits.md). */
  readPaused: boolean;
  /** Bytes of the connection's memory budget in use: queued client frames and handler reservations. */
  memoryBytes: number;
}

export interface StreamInfo {
  channel: number;
  storeId: string;
  access: "read" | "write";
  openedAt: number;
  framesIn: number;
  framesOut: number;
  /** Messages from the client the node has not taken yet (at most the transport's initial credit). */
  queued: number;
  /** Data frames the server may still send before the client grants more. */
  sendCredit: number;
  /** What a pending send is waiting for: client credit, or room on the socket. */
  waitingFor: "credit" | "drain" | undefined;
}
