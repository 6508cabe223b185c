import mittImport, { type Emitter } from "mitt";
import type { Bus, BusFactory, BusHandler, BusStats } from "../types.js";

type Events = Record<string, Uint8Array>;

// mitt ships ES module types in a package not marked as ESM, so NodeNext types its default import as the
// module namespace while Node loads the function itself; accept either shape.
const mittModule = mittImport as unknown as { default?: () => Emitter<Events> } & (() => Emitter<Events>);
const mitt: () => Emitter<Events> = mittModule.default ?? mittModule;

/**
 * In-process bus on mitt. Every bus made by one factory shares one hub, so several node managers
 * in a process ("several servers") see each other's messages, as they would through Redis.
 * Delivery is asynchronous (a microtask) so a publisher never runs subscriber code, and in order.
 */
class MemoryBus implements Bus {
  readonly #hub: Emitter<Events>;
  readonly #subscriptions = new Set<() => void>();
  readonly #stats: BusStats = { published: 0, dropped: 0 };
  #closed = false;

  constructor(hub: Emitter<Events>) {
    this.#hub = hub;
  }

  get connected(): boolean {
    return !this.#closed;
  }

  get stats(): BusStats {
    return { ...this.#stats };
  }

  publish(route: string, message: Uint8Array): void {
    this.#stats.published++;
    if (this.#closed) {
      this.#stats.dropped++;
      return;
    }
    queueMicrotask(() => this.#hub.emit(route, message));
  }

  async subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    if (typeof route !== "string" || route === "") throw new TypeError("route must be a non-empty string");
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    if (this.#closed) throw new TypeError("bus is closed");
    const listener = (message: Uint8Array | undefined) => {
      if (message !== undefined) handler(message);
    };
    this.#hub.on(route, listener);
    const remove = () => {
      this.#hub.off(route, listener);
      this.#subscriptions.delete(remove);
    };
    this.#subscriptions.add(remove);
    return async () => remove();
  }

  onReconnect(_listener: () => void): () => void {
    // An in-process bus never loses its connection.
    return () => undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const remove of [...this.#subscriptions]) remove();
  }
}

/** A factory whose buses share one in-process hub. */
export function createMemoryBusFactory(): BusFactory {
  const hub = mitt();
  return () => new MemoryBus(hub);
}
