import { describe, expectTypeOf, it } from "vitest";
import {
  type CallOptions,
  type ConnectionState,
  type ConsumeIterable,
  type ConsumeQuery,
  type ConsumeSegmentQuery,
  type ConsumeSpaceQuery,
  type ConsumeState,
  type RetryPolicy,
  createClient,
  type Entry,
  type ProduceOptions,
  type Provider,
  type ProducerIdentity,
  type PublishOptions,
  type Record,
  type RequestOptions,
  type SegmentStatus,
  type StoreStatus,
  type StreamsClient,
  StreamsError,
} from "../pkg/client/index.js";

// Pins the SDK's public signatures: `npx tsc --noEmit` fails when one changes.

describe("public client types", () => {
  it("creates a client from a provider and options", () => {
    expectTypeOf(createClient).parameters.toEqualTypeOf<[provider: Provider, options?: { batchSize?: number; retry?: Partial<RetryPolicy>; requestTimeoutMs?: number }]>();
    expectTypeOf(createClient).returns.toEqualTypeOf<StreamsClient>();
  });

  it("types the write operations", () => {
    expectTypeOf<StreamsClient["produce"]>().toEqualTypeOf<
      (
        storeId: string,
        space: string,
        segment: string,
        records: Iterable<Record> | AsyncIterable<Record>,
        options?: ProduceOptions,
      ) => Promise<SegmentStatus[]>
    >();
    expectTypeOf<StreamsClient["publish"]>().toEqualTypeOf<
      (storeId: string, space: string, segment: string, payload: Uint8Array, options?: PublishOptions) => Promise<SegmentStatus>
    >();
    expectTypeOf<ProduceOptions>().toEqualTypeOf<{ batchSize?: number; timeoutMs?: number; signal?: AbortSignal }>();
    expectTypeOf<PublishOptions>().toEqualTypeOf<{
      metadata?: { [key: string]: string };
      producer?: ProducerIdentity;
      timeoutMs?: number;
      signal?: AbortSignal;
    }>();
    expectTypeOf<ProducerIdentity>().toEqualTypeOf<{ id: string; epoch: number }>();
  });

  it("types the reads", () => {
    expectTypeOf<StreamsClient["consumeSegment"]>().toEqualTypeOf<
      (storeId: string, query: ConsumeSegmentQuery, options?: CallOptions) => ConsumeIterable
    >();
    expectTypeOf<StreamsClient["consumeSpace"]>().toEqualTypeOf<
      (storeId: string, query: ConsumeSpaceQuery, options?: CallOptions) => ConsumeIterable
    >();
    expectTypeOf<StreamsClient["consume"]>().toEqualTypeOf<(storeId: string, query: ConsumeQuery, options?: CallOptions) => ConsumeIterable>();
    expectTypeOf<ConsumeIterable>().toMatchTypeOf<AsyncIterable<Entry>>();
    expectTypeOf<ConsumeIterable["state"]>().toEqualTypeOf<ConsumeState>();
    expectTypeOf<ConsumeState>().toEqualTypeOf<{
      status: "connecting" | "connected" | "reconnecting" | "closed";
      reconnects: number;
      url?: string;
      caughtUp: number;
    }>();
    expectTypeOf<ConsumeSegmentQuery>().toEqualTypeOf<{
      space: string;
      segment: string;
      minSequence?: number;
      maxSequence?: number;
      offset?: string;
      minTimestamp?: number;
      maxTimestamp?: number;
      limit?: number;
      follow?: boolean;
      signal?: AbortSignal;
    }>();
    expectTypeOf<ConsumeSpaceQuery>().toEqualTypeOf<{
      space: string;
      offset?: string;
      minTimestamp?: number;
      maxTimestamp?: number;
      limit?: number;
      follow?: boolean;
      signal?: AbortSignal;
    }>();
    expectTypeOf<ConsumeQuery["offsets"]>().toEqualTypeOf<{ [space: string]: string }>();
  });

  it("types the queries and the lifecycle", () => {
    expectTypeOf<StreamsClient["peek"]>().toEqualTypeOf<
      (storeId: string, space: string, segment: string, options?: RequestOptions) => Promise<Entry>
    >();
    expectTypeOf<StreamsClient["getSpaces"]>().toEqualTypeOf<(storeId: string, options?: RequestOptions) => Promise<string[]>>();
    expectTypeOf<StreamsClient["getSegments"]>().toEqualTypeOf<
      (storeId: string, space: string, options?: RequestOptions) => Promise<string[]>
    >();
    expectTypeOf<StreamsClient["getStatus"]>().toEqualTypeOf<(storeId: string, options?: RequestOptions) => Promise<StoreStatus>>();
    expectTypeOf<StreamsClient["state"]>().toEqualTypeOf<ConnectionState>();
    expectTypeOf<StreamsClient["close"]>().toEqualTypeOf<() => Promise<void>>();
    expectTypeOf<StreamsClient[typeof Symbol.asyncDispose]>().toEqualTypeOf<() => PromiseLike<void>>();
    expectTypeOf<CallOptions>().toEqualTypeOf<{ signal?: AbortSignal }>();
    expectTypeOf<RequestOptions>().toEqualTypeOf<{ timeoutMs?: number; signal?: AbortSignal }>();
  });

  it("types entries, statuses and errors", () => {
    expectTypeOf<Entry>().toEqualTypeOf<{
      space: string;
      segment: string;
      sequence: number;
      timestamp: number;
      trx?: { id: string; node: string; number: number };
      payload: Uint8Array;
      metadata: { [key: string]: string };
      offset: string;
    }>();
    expectTypeOf<SegmentStatus>().toEqualTypeOf<{
      space: string;
      segment: string;
      firstSequence: number;
      firstTimestamp: number;
      lastSequence: number;
      lastTimestamp: number;
      heartbeat?: boolean;
      closed?: boolean;
      deleted?: boolean;
    }>();
    expectTypeOf<StoreStatus>().toEqualTypeOf<{
      storeId: string;
      spaces: { space: string; segmentCount: number; entryCount: number; lastTimestamp: number }[];
    }>();
    expectTypeOf<StreamsError["kind"]>().toEqualTypeOf<
      | "invalid_argument"
      | "unauthenticated"
      | "permission_denied"
      | "not_found"
      | "sequence_conflict"
      | "resource_exhausted"
      | "unavailable"
      | "deadline_exceeded"
      | "cancelled"
      | "internal"
      | "out_of_range"
      | "failed_precondition"
    >();
    expectTypeOf<StreamsError["code"]>().toEqualTypeOf<"transient" | "permanent">();
  });
});
