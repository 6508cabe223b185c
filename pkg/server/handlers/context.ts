import type { Message, Principal, Response, SegmentStatus, StreamOrigin } from "../../api/internal/index.js";
import type { Bus } from "../../../bus/types.js";
import type { Logger } from "../../api/logger.js";
import type { Store } from "../../../store/types.js";
import type { ServerLimits } from "../options.js";
import type { Follows } from "../live/follows.js";
import type { LiveRefreshes } from "../live/live-refreshes.js";
import type { LiveTails } from "../live/live-tails.js";
import type { WorkersRegistry } from "../live/workers-registry.js";

/** What a handler works with: the node's store and its one logical stream. */
export interface HandlerContext {
  readonly storeId: string;
  readonly store: Store;
  readonly limits: ServerLimits;
  /** Carries notifications between instances; publishing never waits or fails. */
  readonly bus: Bus;
  /** Id of this server instance. */
  readonly nodeId: string;
  /** Another instance's announcement that commits of a space were not notified: look again (docs/design.md, Buses). */
  readonly refreshes: LiveRefreshes;
  /** Tells every instance a commit happened (coalesced; never waits or fails). */
  notifyCommitted(status: SegmentStatus): void;
  /** Times a store commit for the metrics (streamkit_commit_duration_seconds); returns it unchanged. */
  timeCommit<T>(commit: Promise<T>): Promise<T>;
  readonly logger: Logger;
  /**
   * Deletes the whole store (docs/lifecycle.md): ends the store's other streams on this node with
   * `not_found`, removes its data, and has the node manager drop the node once this stream is done.
   */
  deleteStore(): Promise<void>;
  /** The store's worker registry on this instance, created on first use. */
  workers(): WorkersRegistry;
  /** Whether the stream may write the reserved `ds.` metadata keys (ServerStream.writesProducerMetadata). */
  readonly writesProducerMetadata: boolean;
  /** The connection's current credentials (they may change on token refresh); undefined = unrestricted. */
  principal(): Principal | undefined;
  /** Aborted (reason: a StreamsError) when the client cancels, the connection drops or the node closes. */
  readonly signal: AbortSignal;
  /** The next message on the stream, decoded and validated; undefined once the client has half-closed. */
  receive(): Promise<Message | undefined>;
  /**
   * Charges memory this stream is about to hold to its connection's budget (docs/limits.md) and
   * returns the release; throws `resource_exhausted` when it does not fit.
   */
  reserve(bytes: number): () => void;
  /** Sends one message; resolves when the transport has room for more. */
  send(message: Response): Promise<void>;
  /** Sends `message` already encoded as `bytes` (shared by many streams: never modified). */
  sendEncoded(message: Response, bytes: Uint8Array): Promise<void>;
  /** The store's shared live tails on this node, one per followed space. */
  readonly liveTails: LiveTails;
  /** The store's open follow reads on this node (each registers while it follows; operator drill-down). */
  readonly follows: Follows;
  /** The connection and channel this stream arrived on (undefined in-process). */
  readonly origin: StreamOrigin | undefined;
}
