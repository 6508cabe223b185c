import { StreamsError } from "../../../pkg/api/index.js";
import type { WebSocketConstructor } from "./options.js";
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from "../protocol.js";
import { type Dialer, dialAborted, type FrameSocket } from "./socket.js";

/**
 * Browser dialer: a WebSocket constructor that takes only a URL and subprotocols, so the token
 * travels as the subprotocol `bearer.<jwt>` beside `streamkit.v1`. A browser does not expose the
 * HTTP status of a refused upgrade, so every failed dial here is transient (`unavailable`).
 */
export function browserDialer(WebSocketClass: WebSocketConstructor): Dialer {
  return ({ url, token, maxFrameBytes, handlers, signal }) =>
    new Promise<FrameSocket>((resolve, reject) => {
      const protocols = token === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, BEARER_PROTOCOL_PREFIX + token];
      const socket = new WebSocketClass(url, protocols);
      socket.binaryType = "arraybuffer";
      let open = false;
      let settled = false;
      const fail = (error: StreamsError) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        socket.close();
        reject(error);
      };
      const onAbort = () => fail(dialAborted(signal));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });

      socket.onerror = () => fail(new StreamsError("unavailable", "connection failed"));
      socket.onopen = () => {
        if (settled) return;
        settled = open = true;
        signal.removeEventListener("abort", onAbort);
        resolve({
          send: (bytes) => socket.send(bytes),
          close: (code, reason) => socket.close(code, reason),
          get bufferedAmount() {
            return socket.bufferedAmount;
          },
        });
      };
      socket.onmessage = ({ data }) => {
        if (!(data instanceof ArrayBuffer)) return socket.close(1003, "binary frames only");
        if (data.byteLength > maxFrameBytes) return socket.close(1009, "frame too large");
        handlers.onFrame(new Uint8Array(data));
      };
      socket.onclose = ({ code, reason }) => {
        if (open) handlers.onClose(code, reason);
        else fail(new StreamsError("unavailable", `connection closed during the handshake (${code})`));
      };
    });
}

/** The global WebSocket of a browser (or of a runtime that has one); a TypeError when there is none. */
export function globalWebSocket(): WebSocketConstructor {
  const candidate: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof candidate !== "function") throw new TypeError("no global WebSocket: pass the WebSocket option");
  return candidate as WebSocketConstructor;
}
