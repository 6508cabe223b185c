import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of a shared service (PostgreSQL, Redis), so a test can simulate
 * the service going away without touching it: `cut()` drops every proxied connection and refuses new
 * ones until `restore()`. The port stays the same throughout.
 */
export class TcpProxy implements AsyncDisposable {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #target: { host: string; port: number };
  /** Each proxied connection's upstream socket and its client. */
  readonly #pairs = new Map<Socket, Socket>();
  #cut = false;
  #holding = false;
  /** Connections accepted since the start (a test can wait for clients to come back). */
  accepted = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Starts a proxy to `host:port`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.#server.listen(0, "127.0.0.1");
    await once(proxy.#server, "listening");
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = "127.0.0.1";
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Drops every proxied connection at once and refuses new ones. */
  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#pairs.clear();
  }

  /** Stops passing the service's bytes on to clients (they pile up unsent) until `cut()`: a test can cut a connection between a request's arrival and its answer. */
  holdReplies(): void {
    this.#holding = true;
    for (const [upstream, client] of this.#pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Takes connections again, passing bytes both ways. */
  restore(): void {
    this.#cut = false;
    this.#holding = false;
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.#target);
    this.#pairs.set(upstream, client);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(from);
      if (from === client || !this.#holding) from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        this.#sockets.delete(from);
        this.#pairs.delete(upstream);
        to.destroy();
      });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
