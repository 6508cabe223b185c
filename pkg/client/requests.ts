import {
  type ConsumeRequest,
  type ConsumeSegmentRequest,
  type ConsumeSpaceRequest,
  MessageTypes,
  type ReadBounds,
} from "../api/internal/index.js";
import { type Fields, optionalBoolean, optionalNumber, optionalString, requireObject, requireString, requireStringMap } from "./args.js";

// Consume queries → request messages, checking each field's type (TypeError) and carrying only the
// fields the caller gave (never `signal`).

/** Drops absent fields. */
function compact<T extends object>(request: T): T {
  for (const key of Object.keys(request) as (keyof T)[]) {
    if (request[key] === undefined) delete request[key];
  }
  return request;
}

function readBounds(query: Fields): ReadBounds {
  return {
    minTimestamp: optionalNumber(query.minTimestamp, "query.minTimestamp"),
    maxTimestamp: optionalNumber(query.maxTimestamp, "query.maxTimestamp"),
    limit: optionalNumber(query.limit, "query.limit"),
    follow: optionalBoolean(query.follow, "query.follow"),
  };
}

export function consumeSegmentRequest(value: unknown): ConsumeSegmentRequest {
  const query = requireObject(value, "query");
  requireString(query.space, "query.space");
  requireString(query.segment, "query.segment");
  return compact({
    $type: MessageTypes.consumeSegment,
    space: query.space,
    segment: query.segment,
    minSequence: optionalNumber(query.minSequence, "query.minSequence"),
    maxSequence: optionalNumber(query.maxSequence, "query.maxSequence"),
    offset: optionalString(query.offset, "query.offset"),
    ...readBounds(query),
  });
}

export function consumeSpaceRequest(value: unknown): ConsumeSpaceRequest {
  const query = requireObject(value, "query");
  requireString(query.space, "query.space");
  return compact({
    $type: MessageTypes.consumeSpace,
    space: query.space,
    offset: optionalString(query.offset, "query.offset"),
    ...readBounds(query),
  });
}

export function consumeRequest(value: unknown): ConsumeRequest {
  const query = requireObject(value, "query");
  requireStringMap(query.offsets, "query.offsets");
  return compact({ $type: MessageTypes.consume, offsets: { ...query.offsets }, ...readBounds(query) });
}
