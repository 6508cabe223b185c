import type { ServerStream } from "../api/index.js";

/** Serves one store's streams. */
export interface Node {
  readonly storeId: string;
  /** Streams being handled right now. */
  readonly openStreams: number;
  /** Milliseconds since epoch of the last stream opened or finished. */
  readonly lastAccess: number;
  /** Handles one logical stream until it ends; never rejects (failures end the stream with an error). */
  handle(stream: ServerStream): Promise<void>;
  /** Idempotent; ends open streams with `unavailable` and closes the store. */
  close(): Promise<void>;
}

/** Hands out one Node per store. */
export interface NodeManager {
  /** The node of a store, opening its store if needed. Rejects with `unavailable` while the circuit is open. */
  getOrCreate(storeId: string): Promise<Node>;
  /**
   * Routes one logical stream to its store's node: validates the store id, gets or creates the node
   * and handles the stream; any failure ends the stream with an error. Transports call this.
   */
  handleStream(storeId: string, stream: ServerStream): Promise<void>;
  /** Closes and evicts a store's node. */
  remove(storeId: string): Promise<void>;
  /** Idempotent; closes every node. */
  close(): Promise<void>;
}
