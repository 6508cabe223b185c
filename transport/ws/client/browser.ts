import { browserDialer, globalWebSocket } from "./browser-socket.js";
import type { AddressSource } from "./addresses.js";
import { resolveOptions, type WsProviderOptions } from "./options.js";
import { WebSocketProvider, type WsProvider } from "./provider.js";

export type { RetryPolicy } from "../../../pkg/api/index.js";
export type { Addresses, AddressSource } from "./addresses.js";
export type { TokenSource, WebSocketConstructor, WsProviderOptions } from "./options.js";
export type { WsProvider } from "./provider.js";

/**
 * A Provider over WebSocket for browsers: the global `WebSocket` (or the given constructor), the token
 * as the subprotocol `bearer.<jwt>` since browsers cannot set headers. No Node built-ins, no `ws`.
 * `urls` as for the Node entry: one address, several (failover), or a function returning them.
 */
export function createWsProvider(urls: AddressSource, options: WsProviderOptions = {}): WsProvider {
  const resolved = resolveOptions(urls, options);
  return new WebSocketProvider(resolved, browserDialer(resolved.WebSocket ?? globalWebSocket()));
}
