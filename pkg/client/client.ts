import { type Entry, MessageTypes, type Provider, type PublishRequest } from "../api/internal/index.js";
import {
  type Fields,
  optionalObject,
  requireBytes,
  requireCount,
  requireObject,
  requireRecordSource,
  requireSignal,
  requireString,
  requireStringMap,
} from "./args.js";
import { BatchReader } from "./batches.js";
import { createConnection } from "./connection.js";
import { requireTimeout } from "./deadline.js";
import { consumeIterable } from "./consume.js";
import { leaseMethods } from "./lease.js";
import { lifecycleMethods } from "./lifecycle.js";
import { produce } from "./produce.js";
import { ProducerSequences, requireProducerIdentity } from "./producer-sequences.js";
import { PublishLanes } from "./publish-lanes.js";
import { toEntry, withoutType } from "./replies.js";
import { consumeRequest, consumeSegmentRequest, consumeSpaceRequest } from "./requests.js";
import type { ReadRequest } from "./resume.js";
import { requestSettings, timeoutOf } from "./request-options.js";
import { resolveRetryPolicy } from "./retry-policy.js";
import { subscribeToStatus } from "./subscribe.js";
import { statusSubscriptionParams } from "./subscribe-request.js";
import type { ClientOptions, ConsumeIterable, StreamsClient } from "./types.js";
import { type UnaryCall, unary } from "./unary.js";
import { subscribeWorkers } from "./workers.js";
import { workersSubscriptionParams } from "./workers-request.js";

const DEFAULT_BATCH_SIZE = 1_000;

/** The trailing options' signal, after checking their types. */
function signalOf(options: unknown): AbortSignal | undefined {
  return requireSignal(optionalObject(options, "options").signal, "options.signal");
}

/** A read's signal: given in the query or in the trailing options, not both. */
function readSignal(query: Fields, options: unknown): AbortSignal | undefined {
  const fromQuery = requireSignal(query.signal, "query.signal");
  const fromOptions = signalOf(options);
  if (fromQuery !== undefined && fromOptions !== undefined) throw new TypeError("give signal in the query or in options, not both");
  return fromQuery ?? fromOptions;
}

/** Creates the SDK over a provider (WebSocket, in-process, …). Closing the client closes the provider. */
export function createClient(provider: Provider, options: ClientOptions = {}): StreamsClient {
  if (typeof provider !== "object" || provider === null || typeof provider.open !== "function") {
    throw new TypeError("provider must be a Provider (createWsProvider, createInProcProvider, …)");
  }
  const settings = requireObject(options, "options");
  const defaultBatchSize = settings.batchSize === undefined ? DEFAULT_BATCH_SIZE : requireCount(settings.batchSize, "options.batchSize");
  const requestTimeoutMs = settings.requestTimeoutMs === undefined ? Number.POSITIVE_INFINITY : requireTimeout(settings.requestTimeoutMs, "options.requestTimeoutMs");
  const connection = createConnection(provider, resolveRetryPolicy(settings.retry), requestTimeoutMs);
  const lanes = new PublishLanes(connection);
  const producers = new ProducerSequences();
  const close = async () => {
    await lanes.close();
    await connection.close();
  };

  /** A unary read's signal and deadline. */
  const read = (options: unknown): UnaryCall => ({ ...requestSettings(options, requestTimeoutMs), write: false });

  const consumeWith = (storeId: unknown, query: unknown, options: unknown, toRequest: (query: unknown) => ReadRequest): ConsumeIterable => {
    requireString(storeId, "storeId");
    const request = toRequest(query);
    return consumeIterable({ connection, storeId, request, signal: readSignal(query as Fields, options), policy: connection.retry });
  };

  return {
    async produce(storeId, space, segment, records, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireString(segment, "segment");
      const source = requireRecordSource(records, "records");
      const fields = optionalObject(options, "options");
      const signal = requireSignal(fields.signal, "options.signal");
      const batchSize = fields.batchSize === undefined ? defaultBatchSize : requireCount(fields.batchSize, "options.batchSize");
      const timeoutMs = timeoutOf(fields, requestTimeoutMs);
      const batches = new BatchReader(source, batchSize);
      connection.assertOpen();
      return produce(connection, storeId, space, segment, batches, { signal, timeoutMs });
    },

    async publish(storeId, space, segment, payload, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireString(segment, "segment");
      requireBytes(payload, "payload");
      const fields = optionalObject(options, "options");
      const signal = requireSignal(fields.signal, "options.signal");
      const timeoutMs = timeoutOf(fields, requestTimeoutMs);
      const request: PublishRequest = { $type: MessageTypes.publish, space, segment, payload };
      if (fields.metadata !== undefined) {
        requireStringMap(fields.metadata, "options.metadata");
        request.metadata = fields.metadata;
      }
      if (fields.producer !== undefined) {
        request.producer = producers.stamp(storeId, space, segment, requireProducerIdentity(fields.producer, "options.producer"));
      }
      return lanes.publish(storeId, request, signal, timeoutMs);
    },

    consumeSegment: (storeId, query, options?) => consumeWith(storeId, query, options, consumeSegmentRequest),
    consumeSpace: (storeId, query, options?) => consumeWith(storeId, query, options, consumeSpaceRequest),
    consume: (storeId, query, options?) => consumeWith(storeId, query, options, consumeRequest),

    async peek(storeId, space, segment, options?): Promise<Entry> {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireString(segment, "segment");
      const reply = await unary(connection, storeId, { $type: MessageTypes.peek, space, segment }, MessageTypes.entry, read(options));
      return toEntry(reply.entry);
    },

    async getSpaces(storeId, options?) {
      requireString(storeId, "storeId");
      const reply = await unary(connection, storeId, { $type: MessageTypes.getSpaces }, MessageTypes.names, read(options));
      return reply.names;
    },

    async getSegments(storeId, space, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      const reply = await unary(connection, storeId, { $type: MessageTypes.getSegments, space }, MessageTypes.names, read(options));
      return reply.names;
    },

    async getStatus(storeId, options?) {
      requireString(storeId, "storeId");
      const reply = await unary(connection, storeId, { $type: MessageTypes.getStatus }, MessageTypes.storeStatus, read(options));
      return withoutType(reply);
    },

    subscribeToSegment: async (storeId, space, segment, onStatus, options?) =>
      subscribeToStatus(connection, statusSubscriptionParams(storeId, space, segment, onStatus, options)),
    subscribeToSpace: async (storeId, space, onStatus, options?) =>
      subscribeToStatus(connection, statusSubscriptionParams(storeId, space, "*", onStatus, options)),

    ...leaseMethods(connection),

    ...lifecycleMethods(connection),

    subscribeWorkers: async (storeId, options, onInventory) => subscribeWorkers(connection, workersSubscriptionParams(storeId, options, onInventory)),

    get state() {
      return connection.state;
    },

    close,

    [Symbol.asyncDispose]: close,
  };
}
