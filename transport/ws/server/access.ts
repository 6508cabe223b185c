import { decodeAny, MessageTypes, opName, requiredAccess as accessOfMessage } from "../../../pkg/api/internal/index.js";

/** Known message types only: a refused stream's op is a metric label, so an attacker's text never becomes one. */
const KNOWN_TYPES: ReadonlySet<unknown> = new Set(Object.values(MessageTypes));

export type Access = "read" | "write";

/**
 * The access a stream needs, from its first message (the rule the node applies too). A first message
 * without a readable type needs only read access here; the node refuses it as `invalid_argument`.
 */
export function requiredAccess(first: Uint8Array): Access {
  let message: unknown;
  try {
    message = decodeAny(first);
  } catch {
    return "read";
  }
  if (typeof message !== "object" || message === null) return "read";
  const typed = message as { $type?: unknown; workerId?: unknown };
  if (typeof typed.$type !== "string") return "read";
  return accessOfMessage({ $type: typed.$type, workerId: typed.workerId });
}

/** The operation a first message names, for counting a refused stream ("unknown" when it names none). */
export function operationOf(first: Uint8Array): string {
  try {
    const type = (decodeAny(first) as { $type?: unknown } | null)?.$type;
    return typeof type === "string" && KNOWN_TYPES.has(type) ? opName(type) : "unknown";
  } catch {
    return "unknown";
  }
}
