import {
  type ClientStream,
  type ConnectionState,
  encodeMessage,
  invalidArgument,
  type Provider,
  type Request,
  StreamsError,
} from "../api/internal/index.js";
import type { RetryPolicy } from "./retry-policy.js";

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Names travel as UTF-8, which cannot carry a lone surrogate: it would arrive as U+FFFD, a different
 * and valid name. So the client refuses such names itself, with the error the server gives.
 */
export function assertTransmittable(request: Request): void {
  const names: [string, string][] = [];
  if ("space" in request) names.push(["space", request.space]);
  if ("segment" in request) names.push(["segment", request.segment]);
  if ("key" in request) names.push(["key", request.key], ["holder", request.holder]);
  if ("offsets" in request) names.push(...Object.keys(request.offsets).map((space): [string, string] => ["offsets key", space]));
  for (const [field, name] of names) {
    if (LONE_SURROGATE.test(name)) throw invalidArgument(field, "must be well-formed UTF-8 (lone surrogate)");
  }
}

/** The client's hold on its provider: opens streams until closed. */
export interface Connection {
  /** Opens a stream whose first message is `request`; throws `unavailable` once closed. */
  open(storeId: string, request: Request): ClientStream;
  readonly state: ConnectionState;
  /** The provider's message size limit, if it has one. */
  readonly maxMessageBytes: number | undefined;
  /** Whether close() was called. */
  readonly closed: boolean;
  /** Throws `unavailable` once closed. */
  assertOpen(): void;
  /** Idempotent; closes the provider. */
  close(): Promise<void>;
  /** How reads and subscriptions pace their retries after transient failures. */
  readonly retry: RetryPolicy;
  /** How long a request waits for its answer when the call gives no `timeoutMs` (Infinity: no deadline). */
  readonly requestTimeoutMs: number;
}

export function createConnection(provider: Provider, retry: RetryPolicy, requestTimeoutMs: number): Connection {
  let closing: Promise<void> | undefined;
  const assertOpen = () => {
    if (closing !== undefined) throw new StreamsError("unavailable", "client is closed");
  };
  return {
    retry,
    requestTimeoutMs,
    assertOpen,
    open(storeId, request) {
      assertOpen();
      assertTransmittable(request);
      const first = encodeMessage(request);
      try {
        return provider.open(storeId, first);
      } catch (error) {
        throw StreamsError.from(error, "unavailable");
      }
    },
    get state() {
      return provider.state;
    },
    get maxMessageBytes() {
      return provider.maxMessageBytes;
    },
    get closed() {
      return closing !== undefined;
    },
    close() {
      closing ??= provider.close();
      return closing;
    },
  };
}
