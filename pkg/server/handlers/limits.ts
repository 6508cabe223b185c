import { checkUnreserved, overLimit } from "../../api/internal/index.js";
import type { HandlerContext } from "./context.js";
import type { ServerLimits } from "../options.js";

/** Refuses a payload over the server's limit: `resource_exhausted`, permanent, naming the field. */
export function checkPayloadSize(payload: Uint8Array, field: string, limits: ServerLimits): void {
  if (payload.byteLength > limits.maxPayloadBytes) {
    throw overLimit(`${field}: payload of ${payload.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes} bytes`, {
      field,
      size: payload.byteLength,
      limit: limits.maxPayloadBytes,
    });
  }
}

/** Refuses a list a request carries when it holds more than `limit` items (docs/limits.md). */
export function checkListLength(count: number, field: string, limit: number): void {
  if (count > limit) throw overLimit(`${field}: ${count} items exceed the limit of ${limit}`, { field, count, limit });
}

/** Refuses metadata with more entries than the server's limit. */
export function checkMetadataSize(metadata: { [key: string]: string } | undefined | null, field: string, limits: ServerLimits): void {
  if (metadata !== undefined && metadata !== null) checkListLength(Object.keys(metadata).length, field, limits.maxMetadataEntries);
}

/**
 * Checks a client's metadata: at most the server's entries, and no key of the server's `ds.` prefix
 * unless the stream may write them (docs/protocol.md, Idempotent publish).
 */
export function checkClientMetadata(metadata: { [key: string]: string } | undefined | null, field: string, context: Pick<HandlerContext, "limits" | "writesProducerMetadata">): void {
  checkMetadataSize(metadata, field, context.limits);
  if (!context.writesProducerMetadata) checkUnreserved(metadata, field);
}
