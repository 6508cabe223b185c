import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket } from "ws";
import {
  decodeAny,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  type Frame,
  FrameKinds,
  type Message,
  StreamsError,
} from "../../pkg/api/internal/index.js";
import { createNodeManager, type NodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { attachStreamz, type StreamzOptions, type StreamzServer } from "../../transport/ws/index.js";

/** Bound on every wait of these helpers; a test fails with a message instead of hanging. */
const WAIT_MS = 10_000;

export async function listen(): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((_request, response) => response.writeHead(404).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, url: `ws://127.0.0.1:${port}/streamz`, close };
}

export interface UpgradeRefusal {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface DialOptions {
  token?: string;
  protocols?: string[];
  autoPong?: boolean;
  maxPayload?: number;
  headers?: Record<string, string>;
}

const headersOf = (options: DialOptions) => ({
  ...options.headers,
  ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
});

/** Tries an upgrade that should be refused; resolves with the HTTP answer (rejects if it was accepted). */
export function refusedUpgrade(url: string, options: DialOptions = {}): Promise<UpgradeRefusal> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: headersOf(options) });
    socket.on("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    socket.on("open", () => {
      socket.terminate();
      reject(new Error("the upgrade was accepted"));
    });
    socket.on("error", () => undefined);
  });
}

/** A WebSocket client speaking raw frames, recording everything it receives. */
export class RawClient {
  readonly socket: WebSocket;
  readonly received: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];
  #isClosed = false;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data: Buffer) => {
      this.received.push(decodeFrame(data));
      this.#wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once("close", (code: number, reason: Buffer) => {
        this.#isClosed = true;
        this.#wake();
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static async connect(url: string, options: DialOptions = {}): Promise<RawClient> {
    const socket = new WebSocket(url, options.protocols ?? [], {
      headers: headersOf(options),
      autoPong: options.autoPong ?? true,
      maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
    });
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    socket.on("error", () => undefined);
    return client;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  send(frame: Frame): void {
    this.socket.send(encodeFrame(frame));
  }

  sendBytes(bytes: Uint8Array | string): void {
    this.socket.send(bytes);
  }

  open(channel: number, storeId: string, message: Message): void {
    this.send({ kind: FrameKinds.open, channel, storeId, message: encodeMessage(message) });
  }

  data(channel: number, message: Message): void {
    this.send({ kind: FrameKinds.data, channel, message: encodeMessage(message) });
  }

  on(channel: number): Frame[] {
    return this.received.filter((frame) => frame.channel === channel);
  }

  /** Waits (bounded) until `condition` holds over what was received so far. */
  async until<T>(condition: () => T | undefined | false, what = "condition"): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const value = condition();
      if (value !== undefined && value !== false) return value;
      if (this.#isClosed) throw new Error(`connection closed while waiting for ${what}`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The frame that ended `channel` (end or error). */
  ending(channel: number): Promise<Frame> {
    return this.until(
      () => this.on(channel).find((frame) => frame.kind === FrameKinds.end || frame.kind === FrameKinds.error),
      `the end of channel ${channel}`,
    );
  }

  /** The error that ended `channel`. */
  async errorOn(channel: number): Promise<StreamsError> {
    const frame = await this.ending(channel);
    if (frame.kind !== FrameKinds.error) throw new Error(`channel ${channel} ended without an error`);
    return StreamsError.fromInfo(frame.error);
  }

  /** Decoded messages of the data frames received on `channel`. */
  messages(channel: number): Record<string, unknown>[] {
    return this.on(channel)
      .filter((frame) => frame.kind === FrameKinds.data)
      .map((frame) => decodeAny((frame as { message: Uint8Array }).message) as Record<string, unknown>);
  }

  async close(): Promise<void> {
    if (!this.#isClosed) this.socket.close();
    await this.closed;
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export interface StreamzFixture {
  url: string;
  server: Server;
  streamz: StreamzServer;
  manager: NodeManager;
  close(): Promise<void>;
}

/** A real server: NodeManager over memory stores, /streamz attached to an HTTP server on 127.0.0.1. */
export async function startStreamz(options: Omit<StreamzOptions, "manager"> = {}): Promise<StreamzFixture> {
  const http = await listen();
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
  const streamz = attachStreamz(http.server, { ...options, manager });
  return {
    url: http.url,
    server: http.server,
    streamz,
    manager,
    async close() {
      await streamz.close();
      await manager.close();
      await http.close();
    },
  };
}
