import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import { StreamsError } from "../../../pkg/api/index.js";
import { tickCorker } from "../tick-cork.js";
import { type DialRequest, type Dialer, dialAborted, type FrameSocket, upgradeRefused } from "./socket.js";

// Enough of a refused upgrade's body to carry the server's reason into the error.
const MAX_REASON_BYTES = 1024;

function readReason(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      text += chunk;
      if (text.length >= MAX_REASON_BYTES) response.destroy();
    });
    response.on("end", () => resolve(text.slice(0, MAX_REASON_BYTES)));
    response.on("close", () => resolve(text.slice(0, MAX_REASON_BYTES)));
    response.on("error", () => resolve(text.slice(0, MAX_REASON_BYTES)));
  });
}

/** Node dialer: the `ws` package, the token in an `Authorization: Bearer` header. */
export const nodeDialer: Dialer = ({ url, token, maxFrameBytes, handlers, signal }: DialRequest) =>
  new Promise<FrameSocket>((resolve, reject) => {
    const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
    const socket = new WebSocket(url, { headers, maxPayload: maxFrameBytes, perMessageDeflate: false });
    socket.binaryType = "arraybuffer";
    let open = false;
    // Frames sent in one tick leave in one system call (a burst of publishes, their credits, …).
    let cork = (): void => undefined;
    socket.on("upgrade", (response) => (cork = tickCorker(response.socket)));
    let settled = false;
    const fail = (error: StreamsError) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      socket.terminate();
      reject(error);
    };
    const onAbort = () => fail(dialAborted(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });

    socket.on("unexpected-response", (_request, response) => {
      void readReason(response).then((reason) => fail(upgradeRefused(response.statusCode ?? 0, reason)));
    });
    // A listener must stay attached: `ws` throws an 'error' event nobody listens to.
    socket.on("error", (error) => fail(new StreamsError("unavailable", `connection failed: ${error.message}`, { cause: error })));
    socket.on("open", () => {
      if (settled) return;
      settled = open = true;
      signal.removeEventListener("abort", onAbort);
      resolve({
        send: (bytes) => {
          cork();
          socket.send(bytes);
        },
        close: (code, reason) => socket.close(code, reason),
        get bufferedAmount() {
          return socket.bufferedAmount;
        },
      });
    });
    socket.on("message", (data, isBinary) => {
      if (!isBinary || !(data instanceof ArrayBuffer)) return socket.close(1003, "binary frames only");
      handlers.onFrame(new Uint8Array(data));
    });
    socket.on("close", (code, reason) => {
      if (open) handlers.onClose(code, reason.toString("utf8"));
      else fail(new StreamsError("unavailable", `connection closed during the handshake (${code})`));
    });
  });
