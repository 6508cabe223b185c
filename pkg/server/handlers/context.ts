import type { Message, Response } from "../../api/index.js";
import type { Store } from "../../../store/types.js";
import type { ServerLimits } from "../options.js";

/** What a handler works with: the node's store and its one logical stream. */
export interface HandlerContext {
  readonly storeId: string;
  readonly store: Store;
  readonly limits: ServerLimits;
  /** Aborted (reason: a StreamsError) when the client cancels, the connection drops or the node closes. */
  readonly signal: AbortSignal;
  /** The next message on the stream, decoded and validated; undefined once the client has half-closed. */
  receive(): Promise<Message | undefined>;
  /** Sends one message; resolves when the transport has room for more. */
  send(message: Response): Promise<void>;
}
