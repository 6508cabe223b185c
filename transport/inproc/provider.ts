import {
  type ClientStream,
  type ConnectionState,
  cancelledError,
  decodeError,
  encodeError,
  type Principal,
  type Provider,
  type ServerStream,
  StreamsError,
} from "../../pkg/api/internal/index.js";
import type { NodeManager } from "../../pkg/server/types.js";
import { Pipe } from "./pipe.js";

export interface InProcOptions {
  /** Messages queued per direction before a sender waits (flow control). Default 16. */
  window?: number;
  /** Who the streams act as (scopes apply as on the WebSocket); absent: full access, for trusted in-process callers. */
  principal?: Principal;
}

/**
 * A provider that serves streams from a NodeManager in the same process. Every message and error
 * still passes through the real codec, so nothing works in-process that would fail on the wire.
 */
export function createInProcProvider(manager: Pick<NodeManager, "handleStream">, options: InProcOptions = {}): Provider {
  return inProcProvider(manager, options, false);
}

/**
 * An in-process provider whose streams may write the reserved `ds.` metadata keys
 * (ServerStream.writesProducerMetadata): the HTTP gateway's, which records its producers, close
 * markers and `Stream-Seq` there (docs/design.md, HTTP). Not exported from the package: no client reaches it.
 */
export function createProducerWriterProvider(manager: Pick<NodeManager, "handleStream">, options: InProcOptions = {}): Provider {
  return inProcProvider(manager, options, true);
}

function inProcProvider(manager: Pick<NodeManager, "handleStream">, options: InProcOptions, writesProducerMetadata: boolean): Provider {
  const window = options.window ?? 16;
  const principal = options.principal;
  if (!Number.isSafeInteger(window) || window < 1) throw new TypeError("window must be an integer >= 1");
  const state: ConnectionState = { status: "connected", reconnects: 0 };
  const open = new Set<() => void>();

  return {
    get state() {
      return { ...state };
    },
    open(storeId: string, first: Uint8Array): ClientStream {
      if (state.status === "closed") throw new StreamsError("unavailable", "provider is closed");
      const up = new Pipe(window);
      const down = new Pipe(window);
      const abort = new AbortController();
      const disconnect = () => {
        const error = new StreamsError("unavailable", "provider closed");
        abort.abort(error);
        up.abort(error);
        down.abort(error);
      };
      open.add(disconnect);
      const server: ServerStream = {
        receive: () => up.pull(),
        send: (message) => down.push(message),
        end: () => down.end(),
        fail: (error) => down.fail(decodeError(encodeError(error))),
        signal: abort.signal,
        principal,
        writesProducerMetadata,
      };
      void up.push(first).catch(() => undefined);
      void manager.handleStream(storeId, server).finally(() => {
        open.delete(disconnect);
        up.abort();
      });
      return {
        send: (message) => up.push(message),
        receive: () => down.pull(),
        end: () => up.end(),
        cancel: (reason?: unknown) => {
          const error = cancelledError();
          if (reason !== undefined) Object.defineProperty(error, "cause", { value: reason });
          abort.abort(error);
          up.abort(error);
          down.abort(error);
        },
      };
    },
    async close() {
      if (state.status === "closed") return;
      state.status = "closed";
      for (const disconnect of [...open]) disconnect();
      open.clear();
    },
  };
}
