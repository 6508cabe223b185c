import { StreamsError } from "../../api/index.js";
import type { ServerLimits } from "../options.js";

/** Refuses a payload over the server's limit with `resource_exhausted` naming the field. */
export function checkPayloadSize(payload: Uint8Array, field: string, limits: ServerLimits): void {
  if (payload.byteLength > limits.maxPayloadBytes) {
    throw new StreamsError(
      "resource_exhausted",
      `${field}: payload of ${payload.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes} bytes`,
      { details: { field, size: payload.byteLength, limit: limits.maxPayloadBytes } },
    );
  }
}
