import { compareNames, StreamsError, type WorkerInfo, type WorkerInventory } from "../../api/index.js";
import type { Bus } from "../../../bus/types.js";
import type { Logger } from "../../api/logger.js";
import { workersRoute } from "./notifications.js";
import { KeyedTimers } from "./workers-timers.js";
import type { WorkersRollCall } from "./workers-roll-call.js";
import { decodeWorkersMessage, encodeWorkersMessage, type WorkerPresent, type WorkersBusMessage } from "./workers-messages.js";

/** Keepalive interval assumed when a worker names none (the client's default). */
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** Longest keepalive interval the server honours; longer ones are clamped (as heartbeats are to 300 s). */
export const MAX_KEEPALIVE_MS = 300_000;

/** A worker's keepalive interval as the server counts it: absent or 0 is the default, at most MAX_KEEPALIVE_MS. */
export function keepaliveInterval(requested: number | undefined): number {
  if (requested === undefined || requested <= 0) return DEFAULT_KEEPALIVE_MS;
  return Math.min(requested, MAX_KEEPALIVE_MS);
}

/** How long a worker stays listed without a keepalive (docs/workers.md). */
export function staleAfterMs(keepaliveMs: number, staleMinMs: number): number {
  return Math.max(3 * keepaliveMs, staleMinMs);
}

/**
 * Longest an observer's first inventory waits for the other instances to answer the roll call: only
 * an instance that died since it last announced itself is waited for that long.
 */
const ROLL_CALL_TIMEOUT_MS = 2_000;

/** First and longest wait before retrying a catch-up the bus could not carry. */
const CATCH_UP_RETRY_MS = { initial: 100, max: 5_000 };

export interface WorkersRegistryOptions {
  storeId: string;
  bus: Bus;
  logger: Logger;
  /** Floor of the stale window (the server option `workerStaleMinMs`). */
  staleMinMs: number;
  /** Asks the other instances for their workers when this registry opens (workers-roll-call.ts). */
  rollCall?: Pick<WorkersRollCall, "request">;
}

export interface WorkerRegistration {
  workerId: string;
  metadata: { [key: string]: string };
  /** The worker's keepalive interval as it asked (clamped here). */
  keepaliveMs: number | undefined;
}

/** What a worker stream holds while its worker is registered. */
export interface WorkerMembership {
  /** Records a keepalive. */
  keepalive(): void;
  /** Removes the worker (its stream ended). Idempotent; does nothing once the worker was replaced or went stale. */
  leave(): void;
}

export type InventoryListener = (inventory: WorkerInventory) => void;
/** Ends a worker stream the registry dropped: replaced by a newer stream (`cancelled`) or stale (`deadline_exceeded`). */
export type EvictionListener = (reason: StreamsError) => void;

/** The current registration of one worker id, held by a stream here (`local`) or on another instance. */
interface Holder {
  info: WorkerInfo;
  session: string;
  generation: number;
  staleMs: number;
  local?: { evict: EvictionListener; announcedAt: number };
}

/** Whether registration `a` is newer than `b`: a later generation, then a later start, then the session id (any fixed rule). */
function supersedes(a: Pick<Holder, "generation" | "session" | "info">, b: Holder): boolean {
  if (a.generation !== b.generation) return a.generation > b.generation;
  if (a.info.since !== b.info.since) return a.info.since > b.info.since;
  return a.session > b.session;
}

const copyInfo = (info: WorkerInfo): WorkerInfo => ({ ...info, metadata: { ...info.metadata } });

const replaced = (workerId: string): StreamsError =>
  new StreamsError("cancelled", `worker ${workerId} was replaced by a newer stream`, { details: { workerId } });

/**
 * The workers of one store as this instance knows them: those whose streams it holds, plus those
 * held by other instances, learnt from the bus (joins, throttled keepalives, leaves, and answers to
 * the sync request it sends when it starts and whenever its bus reconnects). Every entry, local or
 * remote, expires after its stale window without news, so a lost message or a dead instance costs
 * at most one window. Listeners hear the full inventory after every join and leave, not on keepalives.
 */
export class WorkersRegistry {
  /** Names this registry on the bus (its own messages come back to it and are ignored). */
  readonly #id = globalThis.crypto.randomUUID();
  readonly #storeId: string;
  readonly #bus: Bus;
  readonly #logger: Logger;
  readonly #staleMinMs: number;
  readonly #route: string;
  readonly #workers = new Map<string, Holder>();
  /** #workers' infos sorted by id; undefined after a change until asked for (#sorted). */
  #sortedInfos: WorkerInfo[] | undefined;
  readonly #expiry = new KeyedTimers<string>();
  readonly #catchUpRetry = new KeyedTimers<"catch-up">();
  #catchUpFailures = 0;
  readonly #listeners = new Set<InventoryListener>();
  readonly #rollCall: Pick<WorkersRollCall, "request"> | undefined;
  /** Instances yet to answer this registry's roll call; undefined once it is settled (or there is none). */
  #awaiting: Set<string> | undefined;
  #rollCallTimer: NodeJS.Timeout | undefined;
  /** Observers that opened before the roll call settled: their first inventory waits for it. */
  readonly #waitingObservers = new Set<InventoryListener>();
  readonly #stopReconnectListener: () => void;
  #unsubscribe: (() => Promise<void>) | undefined;
  #subscribing: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: WorkersRegistryOptions) {
    this.#storeId = options.storeId;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#staleMinMs = options.staleMinMs;
    this.#route = workersRoute(options.storeId);
    this.#rollCall = options.rollCall;
    if (this.#rollCall !== undefined) this.#awaiting = new Set();
    this.#stopReconnectListener = this.#bus.onReconnect(() => this.#onBusReconnect());
    this.#subscribe();
  }

  /** Every live worker of the store, sorted by id; a copy. */
  inventory(): WorkerInventory {
    return { workers: this.#sorted().map(copyInfo) };
  }

  /**
   * The first `limit` workers by id (copies) and how many there are: the operator's bounded view. The
   * sorted order is kept until the next join or leave, so a page costs `limit` copies, not a sort.
   */
  page(limit: number): { workers: WorkerInfo[]; count: number } {
    const sorted = this.#sorted();
    return { workers: sorted.slice(0, limit).map(copyInfo), count: sorted.length };
  }

  /** Holders' infos sorted by worker id; rebuilt after a join or leave (keepalives change infos in place). */
  #sorted(): readonly WorkerInfo[] {
    this.#sortedInfos ??= [...this.#workers.values()].map(({ info }) => info).sort((a, b) => compareNames(a.workerId, b.workerId));
    return this.#sortedInfos;
  }

  /** Calls `listener` with the inventory now and after every join and leave; returns the function that stops it. */
  observe(listener: InventoryListener): () => void {
    this.#assertOpen();
    const stop = () => {
      this.#listeners.delete(listener);
      this.#waitingObservers.delete(listener);
    };
    if (this.#awaiting !== undefined) {
      this.#waitingObservers.add(listener);
      return stop;
    }
    this.#listeners.add(listener);
    listener(this.inventory());
    return stop;
  }

  /** Answers another instance's roll call: this registry's workers, then the answer itself, in that order on the bus. */
  answerRollCall(to: string, instance: string): void {
    if (this.#closing !== undefined) return;
    this.#announceLocals();
    this.#publish({ kind: "answered", origin: this.#id, to, instance });
  }

  /**
   * Lists a worker whose stream is on this instance. A registration of the same id, here or on another
   * instance, is evicted as replaced; `evict` is how this one learns the same fate, or that it went stale.
   */
  register(registration: WorkerRegistration, evict: EvictionListener): WorkerMembership {
    this.#assertOpen();
    const { workerId } = registration;
    const now = Date.now();
    const previous = this.#workers.get(workerId);
    const holder: Holder = {
      info: { workerId, since: now, lastSeen: now, metadata: { ...registration.metadata } },
      session: globalThis.crypto.randomUUID(),
      generation: (previous?.generation ?? 0) + 1,
      staleMs: staleAfterMs(keepaliveInterval(registration.keepaliveMs), this.#staleMinMs),
      local: { evict, announcedAt: now },
    };
    this.#workers.set(workerId, holder);
    this.#sortedInfos = undefined;
    this.#armLocal(holder);
    this.#announce(holder);
    previous?.local?.evict(replaced(workerId));
    this.#changed();
    return { keepalive: () => this.#keepalive(holder), leave: () => this.#leave(holder) };
  }

  /** Idempotent. Open streams are the node's to end (their leaves go out before this runs). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stopReconnectListener();
    clearTimeout(this.#rollCallTimer);
    this.#waitingObservers.clear();
    for (const holder of this.#workers.values()) if (holder.local) this.#publishLeft(holder);
    this.#expiry.clearAll();
    this.#catchUpRetry.clearAll();
    this.#workers.clear();
    this.#sortedInfos = undefined;
    this.#listeners.clear();
    await this.#subscribing;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    await unsubscribe?.().catch((error: unknown) => this.#logger.warn({ err: error, storeId: this.#storeId }, "workers: bus unsubscribe failed"));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new StreamsError("unavailable", `store ${this.#storeId} closed on this server`);
  }

  #keepalive(holder: Holder): void {
    if (this.#workers.get(holder.info.workerId) !== holder || holder.local === undefined) return;
    const now = Date.now();
    holder.info.lastSeen = now;
    this.#armLocal(holder);
    // Other instances refresh their copy from these; one per third of the window keeps them well inside it.
    if (now - holder.local.announcedAt >= holder.staleMs / 3) this.#announce(holder);
  }

  #leave(holder: Holder): void {
    if (!this.#remove(holder)) return;
    this.#publishLeft(holder);
    this.#changed();
  }

  #armLocal(holder: Holder): void {
    this.#expiry.arm(holder.info.workerId, holder.staleMs, () => {
      if (this.#workers.get(holder.info.workerId) !== holder) return;
      this.#leave(holder);
      holder.local?.evict(
        new StreamsError("deadline_exceeded", `worker ${holder.info.workerId} sent no keepalive for ${holder.staleMs} ms`, {
          details: { workerId: holder.info.workerId },
        }),
      );
    });
  }

  #armRemote(holder: Holder): void {
    this.#expiry.arm(holder.info.workerId, holder.staleMs, () => {
      if (this.#remove(holder)) this.#changed();
    });
  }

  /** Drops `holder` if it is still the worker's current registration. */
  #remove(holder: Holder): boolean {
    const { workerId } = holder.info;
    if (this.#workers.get(workerId) !== holder) return false;
    this.#workers.delete(workerId);
    this.#sortedInfos = undefined;
    this.#expiry.clear(workerId);
    return true;
  }

  #changed(): void {
    if (this.#listeners.size === 0) return;
    const inventory = this.inventory();
    for (const listener of [...this.#listeners]) listener(inventory);
  }

  // Bus side.

  #subscribe(): void {
    const subscribing = this.#trySubscribe().finally(() => {
      if (this.#subscribing === subscribing) this.#subscribing = undefined;
    });
    this.#subscribing = subscribing;
  }

  async #trySubscribe(): Promise<void> {
    try {
      const unsubscribe = await this.#bus.subscribe(this.#route, (bytes) => this.#onBusMessage(bytes));
      if (this.#closing !== undefined) {
        await unsubscribe();
        return;
      }
      this.#unsubscribe = unsubscribe;
      this.#catchUp();
      this.#startRollCall();
    } catch (error) {
      this.#logger.warn({ err: error, storeId: this.#storeId }, "workers: bus subscription failed; retrying when the bus reconnects");
      this.#settleRollCall();
    }
  }

  /** Once listening: asks every other instance for its workers, so that the first inventory lists them. */
  #startRollCall(): void {
    if (this.#awaiting === undefined || this.#rollCall === undefined) return;
    const expected = this.#rollCall.request(this.#storeId, this.#id);
    if (expected.length === 0) return this.#settleRollCall();
    this.#awaiting = new Set(expected);
    this.#rollCallTimer = setTimeout(() => {
      this.#logger.warn({ storeId: this.#storeId, missing: [...(this.#awaiting ?? [])] }, "workers: instances did not answer the roll call in time");
      this.#settleRollCall();
    }, ROLL_CALL_TIMEOUT_MS);
    this.#rollCallTimer.unref?.();
  }

  #onAnswered(instance: string): void {
    if (this.#awaiting === undefined) return;
    this.#awaiting.delete(instance);
    if (this.#awaiting.size === 0) this.#settleRollCall();
  }

  /** The waiting observers get their first inventory now, and every change from now on. */
  #settleRollCall(): void {
    if (this.#awaiting === undefined) return;
    this.#awaiting = undefined;
    clearTimeout(this.#rollCallTimer);
    const inventory = this.inventory();
    for (const listener of this.#waitingObservers) {
      this.#listeners.add(listener);
      listener(inventory);
    }
    this.#waitingObservers.clear();
  }

  #onBusReconnect(): void {
    if (this.#closing !== undefined) return;
    if (this.#unsubscribe !== undefined) this.#catchUp();
    else if (this.#subscribing === undefined) this.#subscribe();
  }

  /**
   * After a gap: tells the others about our workers (they may have expired them) and asks for theirs.
   * A bus that cannot carry messages right now (a Redis publisher still connecting) would drop them,
   * so the catch-up waits for it, backing off.
   */
  #catchUp(): void {
    if (this.#closing !== undefined) return;
    if (!this.#bus.connected) {
      const delay = Math.min(CATCH_UP_RETRY_MS.max, CATCH_UP_RETRY_MS.initial * 2 ** this.#catchUpFailures++);
      this.#catchUpRetry.arm("catch-up", delay, () => this.#catchUp());
      return;
    }
    this.#catchUpFailures = 0;
    this.#catchUpRetry.clear("catch-up");
    this.#announceLocals();
    this.#publish({ kind: "sync", origin: this.#id });
  }

  #announceLocals(): void {
    for (const holder of this.#workers.values()) if (holder.local) this.#announce(holder);
  }

  #announce(holder: Holder): void {
    if (holder.local) holder.local.announcedAt = Date.now();
    const { session, generation, staleMs, info } = holder;
    this.#publish({ kind: "present", origin: this.#id, session, generation, staleMs, worker: { ...info } });
  }

  #publishLeft(holder: Holder): void {
    this.#publish({ kind: "left", origin: this.#id, session: holder.session, workerId: holder.info.workerId });
  }

  #publish(message: WorkersBusMessage): void {
    this.#bus.publish(this.#route, encodeWorkersMessage(message));
    // Dropped: catch up once the bus is back (a lost leave costs the others at most one stale window).
    if (!this.#bus.connected && !this.#catchUpRetry.has("catch-up")) this.#catchUp();
  }

  #onBusMessage(bytes: Uint8Array): void {
    if (this.#closing !== undefined) return;
    const message = decodeWorkersMessage(bytes);
    if (message === undefined) {
      this.#logger.debug({ storeId: this.#storeId }, "workers: ignored a malformed bus message");
      return;
    }
    if (message.origin === this.#id) return;
    switch (message.kind) {
      case "present":
        return this.#onPresent(message);
      case "left": {
        const current = this.#workers.get(message.workerId);
        if (current === undefined || current.local !== undefined || current.session !== message.session) return;
        this.#remove(current);
        return this.#changed();
      }
      case "sync":
        return this.#announceLocals();
      case "answered":
        if (message.to === this.#id) this.#onAnswered(message.instance);
        return;
    }
  }

  #onPresent(message: WorkerPresent): void {
    const { worker, session, generation, staleMs } = message;
    const current = this.#workers.get(worker.workerId);
    if (current !== undefined && current.session === session) {
      current.info.lastSeen = Math.max(current.info.lastSeen, worker.lastSeen);
      this.#armRemote(current);
      return;
    }
    if (current !== undefined && !supersedes({ generation, session, info: worker }, current)) return;
    const holder: Holder = { info: worker, session, generation, staleMs };
    this.#workers.set(worker.workerId, holder);
    this.#sortedInfos = undefined;
    this.#armRemote(holder);
    // The worker registered again on another instance: the stream held here is the older one.
    current?.local?.evict(replaced(worker.workerId));
    this.#changed();
  }
}
