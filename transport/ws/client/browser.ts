import { browserDialer, globalWebSocket } from "./browser-socket.js";
import { resolveOptions, type WsProviderOptions } from "./options.js";
import { WebSocketProvider, type WsProvider } from "./provider.js";

export type { RetryPolicy } from "../../../pkg/api/index.js";
export type { TokenSource, WebSocketConstructor, WsProviderOptions } from "./options.js";
export type { WsProvider } from "./provider.js";

/**
 * A Provider over WebSocket for browsers: the global `WebSocket` (or the given constructor), the token
 * as the subprotocol `bearer.<jwt>` since browsers cannot set headers. No Node built-ins, no `ws`.
 */
export function createWsProvider(url: string, options: WsProviderOptions = {}): WsProvider {
  const resolved = resolveOptions(url, options);
  return new WebSocketProvider(resolved, browserDialer(resolved.WebSocket ?? globalWebSocket()));
}
