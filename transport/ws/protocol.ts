// Constants both ends of the WebSocket transport agree on (docs/protocol.md).

/** Subprotocol every client offers; browsers carry the token as a second one, `bearer.<jwt>`. */
export const SUBPROTOCOL = "streamkit.v1";
export const BEARER_PROTOCOL_PREFIX = "bearer.";

/** Close codes this server uses besides the standard ones. */
export const CloseCodes = {
  tokenExpired: 4001,
  closedByOperator: 4002,
} as const;
