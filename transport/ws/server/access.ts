import { decodeAny, requiredAccess as accessOfMessage } from "../../../pkg/api/internal/index.js";

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
