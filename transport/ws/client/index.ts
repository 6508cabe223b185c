import { browserDialer } from "./browser-socket.js";
import { nodeDialer } from "./node-socket.js";
import type { AddressSource } from "./addresses.js";
import { resolveOptions, type WsProviderOptions } from "./options.js";
import { WebSocketProvider, type WsProvider } from "./provider.js";

export type { RetryPolicy } from "../../../pkg/api/index.js";
export type { Addresses, AddressSource } from "./addresses.js";
export type { TokenSource, WebSocketConstructor, WsProviderOptions } from "./options.js";
export type { WsProvider } from "./provider.js";

/**
 * A Provider over WebSocket for Node: the `ws` package with the token in an `Authorization: Bearer`
 * header, or the given `WebSocket` constructor with the token as a subprotocol.
 * `urls` is a server base (`ws://host:port`; `/streamz` is appended unless present), several of them
 * (an array, or comma-separated) for instances sharing storage, or a function returning either, asked
 * again before every dial (service discovery). A lost connection fails over to another address.
 */
export function createWsProvider(urls: AddressSource, options: WsProviderOptions = {}): WsProvider {
  const resolved = resolveOptions(urls, options);
  const dialer = resolved.WebSocket ? browserDialer(resolved.WebSocket) : nodeDialer;
  return new WebSocketProvider(resolved, dialer);
}
