import { browserDialer } from "./browser-socket.js";
import { nodeDialer } from "./node-socket.js";
import { resolveOptions, type WsProviderOptions } from "./options.js";
import { WebSocketProvider, type WsProvider } from "./provider.js";

export type { RetryPolicy } from "../../../pkg/api/index.js";
export type { TokenSource, WebSocketConstructor, WsProviderOptions } from "./options.js";
export type { WsProvider } from "./provider.js";

/**
 * A Provider over WebSocket for Node: the `ws` package with the token in an `Authorization: Bearer`
 * header, or the given `WebSocket` constructor with the token as a subprotocol.
 * `url` is the server base (`ws://host:port`); `/streamz` is appended unless present.
 */
export function createWsProvider(url: string, options: WsProviderOptions = {}): WsProvider {
  const resolved = resolveOptions(url, options);
  const dialer = resolved.WebSocket ? browserDialer(resolved.WebSocket) : nodeDialer;
  return new WebSocketProvider(resolved, dialer);
}
