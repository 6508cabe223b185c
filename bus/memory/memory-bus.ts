import mittImport, { type Emitter } from "mitt";
import { type Logger, silentLogger } from "../../pkg/api/logger.js";
import { AbstractBus } from "../abstract-bus.js";
import type { BusFactory, BusHandler } from "../types.js";

type Events = Record<string, Uint8Array>;

// mitt ships ES module types in a package not marked as ESM, so NodeNext types its default import as the
// module namespace while Node loads the function itself; accept either shape.
const mittModule = mittImport as unknown as { default?: () => Emitter<Events> } & (() => Emitter<Events>);
const mitt: () => Emitter<Events> = mittModule.default ?? mittModule;

export interface MemoryBusOptions {
  /** Where a throwing handler is reported. Default: silent. */
  logger?: Logger;
}

/**
 * In-process bus on mitt. Every bus made by one factory shares one hub, so several node managers
 * in a process ("several servers") see each other's messages, as they would through Redis.
 * Delivery is asynchronous (a microtask) so a publisher never runs subscriber code, and in order.
 */
class MemoryBus extends AbstractBus {
  readonly #hub: Emitter<Events>;
  readonly #logger: Logger;
  readonly #subscriptions = new Set<() => void>();

  constructor(hub: Emitter<Events>, logger: Logger) {
    super("memory bus", logger);
    this.#hub = hub;
    this.#logger = logger;
  }

  protected _ready(): boolean {
    // An in-process bus never loses its connection.
    return true;
  }

  protected _publish(route: string, message: Uint8Array): boolean {
    // A copy, as a network bus would carry: the publisher may reuse its buffer once publish returns.
    // (Not message.slice(): on a Buffer that is a view, not a copy.)
    const copy = new Uint8Array(message);
    queueMicrotask(() => this.#hub.emit(route, copy));
    return true;
  }

  protected async _subscribe(route: string, handler: BusHandler): Promise<() => Promise<void>> {
    const listener = (message: Uint8Array | undefined) => {
      if (message === undefined) return;
      try {
        handler(message);
      } catch (error) {
        // One subscriber's failure must not reach the others (nor crash the process from a microtask).
        this.#logger.error({ err: error, route }, "memory bus handler threw");
      }
    };
    this.#hub.on(route, listener);
    const remove = () => {
      this.#hub.off(route, listener);
      // mitt keeps a route's empty handler list; a server following many stores would keep one per route ever followed.
      if (this.#hub.all.get(route)?.length === 0) this.#hub.all.delete(route);
      this.#subscriptions.delete(remove);
    };
    this.#subscriptions.add(remove);
    return async () => remove();
  }

  protected async _close(): Promise<void> {
    for (const remove of [...this.#subscriptions]) remove();
  }
}

/** A factory whose buses share one in-process hub. */
export function createMemoryBusFactory(options: MemoryBusOptions = {}): BusFactory {
  const logger = options.logger ?? silentLogger;
  if (typeof logger !== "object" || logger === null) throw new TypeError("logger must be a Logger");
  const hub = mitt();
  return () => new MemoryBus(hub, logger);
}
