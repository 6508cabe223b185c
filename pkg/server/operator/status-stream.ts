import type { IncomingMessage, ServerResponse } from "node:http";
import { StreamsError } from "../../api/index.js";
import type { Logger } from "../../api/logger.js";
import type { OperatorStatus } from "./status.js";

export interface StatusStreamOptions {
  /** Builds the current status. */
  status(): OperatorStatus;
  /** Clients at once; more are refused with 429. */
  maxClients: number;
  /** A `: heartbeat` comment this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  logger: Logger;
}

/** Bytes a client may have unsent before it is cut off; one pending snapshot at most is ever added to it. */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** How soon a browser's EventSource reconnects after the stream drops. */
const RETRY_MS = 2_000;

interface Client {
  response: ServerResponse;
  /** A snapshot is waiting for the socket to drain (only the latest is kept). */
  behind: boolean;
}

/** The status with what changes on every call left out: two equal keys mean nothing an operator sees changed. */
const changeKey = (status: OperatorStatus): string => JSON.stringify({ ...status, instance: { ...status.instance, now: 0, uptimeMs: 0 } });

/**
 * `/api/status/stream`: server-sent events. Each client gets the status at once, then again
 * whenever `tick()` finds it changed, and a heartbeat comment every `heartbeatMs`. A client that
 * does not keep up is sent only the latest status once it drains, and is dropped if its unsent
 * bytes still grow past a bound.
 */
export class StatusStream {
  readonly #options: StatusStreamOptions;
  readonly #clients = new Set<Client>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  #closed = false;
  #lastKey = "";
  #lastEvent = "";
  #eventId = 0;

  constructor(options: StatusStreamOptions) {
    this.#options = options;
    this.#heartbeat = setInterval(() => this.#broadcast(": heartbeat\n\n"), options.heartbeatMs);
    this.#heartbeat.unref?.();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Takes over a GET request: headers, the current status, then updates until either side closes. */
  attach(request: IncomingMessage, response: ServerResponse): void {
    if (this.#closed) throw new StreamsError("unavailable", "the server is shutting down");
    if (this.#clients.size >= this.#options.maxClients) {
      throw new StreamsError("resource_exhausted", `too many status streams open (limit ${this.#options.maxClients})`);
    }
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      // nginx and similar proxies buffer responses unless told not to.
      "x-accel-buffering": "no",
    });
    response.flushHeaders();
    request.socket.setNoDelay(true);
    const client: Client = { response, behind: false };
    this.#clients.add(client);
    const remove = () => this.#clients.delete(client);
    response.once("close", remove);
    response.on("drain", () => {
      if (!client.behind) return;
      client.behind = false;
      this.#write(client, this.#lastEvent);
    });
    this.#write(client, `retry: ${RETRY_MS}\n\n`);
    // A changed status goes to every client; an unchanged one only to the newcomer.
    const event = this.#refresh();
    if (event !== undefined) this.#broadcast(event);
    else this.#write(client, this.#lastEvent);
  }

  /** Sends the status to every client if it changed since the last one sent. */
  tick(): void {
    if (this.#clients.size === 0) return;
    const event = this.#refresh();
    if (event !== undefined) this.#broadcast(event);
  }

  /** Ends every client's stream. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }

  /** Builds the status; returns its event when it differs from the last one (which it then replaces). */
  #refresh(): string | undefined {
    const status = this.#options.status();
    const key = changeKey(status);
    if (key === this.#lastKey && this.#lastEvent !== "") return undefined;
    this.#lastKey = key;
    this.#lastEvent = `event: status\nid: ${++this.#eventId}\ndata: ${JSON.stringify(status)}\n\n`;
    return this.#lastEvent;
  }

  #broadcast(text: string): void {
    for (const client of this.#clients) this.#write(client, text);
  }

  #write(client: Client, text: string): void {
    const { response } = client;
    if (response.writableEnded || response.destroyed) return;
    if (response.writableNeedDrain) {
      // Status events replace each other: remember that one is due, send the latest on drain.
      if (text.startsWith("event:")) client.behind = true;
      if (response.writableLength > MAX_UNSENT_BYTES) {
        this.#options.logger.info({ unsent: response.writableLength }, "status stream client too slow: dropping it");
        response.destroy();
      }
      return;
    }
    response.write(text);
  }
}
