import { decodeAny, READ_ONLY_REQUESTS } from "../../../pkg/api/index.js";

export type Access = "read" | "write";

/**
 * The access a stream needs, from its first message (the rule the node applies too): reads for
 * READ_ONLY_REQUESTS, writes for any other type. A first message without a readable type needs only
 * read access here; the node refuses it as `invalid_argument`.
 */
export function requiredAccess(first: Uint8Array): Access {
  let type: unknown;
  try {
    const message = decodeAny(first);
    type = typeof message === "object" && message !== null ? (message as { $type?: unknown }).$type : undefined;
  } catch {
    return "read";
  }
  if (typeof type !== "string") return "read";
  return READ_ONLY_REQUESTS.has(type) ? "read" : "write";
}
