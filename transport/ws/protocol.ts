// Constants both ends of the WebSocket transport agree on (docs/protocol.md).

/** Subprotocol every client offers; browsers carry the token as a second one, `bearer.<jwt>`. */
export const SUBPROTOCOL = "streamkit.v1";
export const BEARER_PROTOCOL_PREFIX = "bearer.";
