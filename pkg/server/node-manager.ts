import { normalizeStoreId, type ServerStream, StreamsError } from "../api/internal/index.js";
import { forClient } from "./conceal.js";
import type { Bus } from "../../bus/types.js";
import { CircuitBreaker, type CircuitInfo } from "./circuit-breaker.js";
import { CommitHealth, type FailingCommits } from "./commit-health.js";
import { StoreNode } from "./node.js";
import { WorkersRollCall } from "./live/workers-roll-call.js";
import { LiveRefreshes } from "./live/live-refreshes.js";
import { MissedNotifications } from "./live/missed-notifications.js";
import { OpenSlots } from "./open-slots.js";
import { type NodeManagerOptions, resolveNodeManagerOptions } from "./options.js";
import type { Node, NodeManager } from "./types.js";
import type { LiveTailTotals } from "./live/live-tails.js";
import type { StoreDetail } from "./store-detail.js";

/** One node as status reports it. */
export interface NodeInfo {
  storeId: string;
  openStreams: number;
  /** Milliseconds since epoch. */
  lastAccess: number;
  /** Kept entries and stored bytes, as last measured (refreshed in the background); undefined before the first measure. */
  usage?: { entries: number; bytes: number } | undefined;
  /** Entries this instance's retention sweeps removed from the store. */
  sweptEntries: number;
  /** Its shared live tails on this instance, summed (docs/configuration.md, "Live tail"). */
  liveTails: LiveTailTotals;
}

/** How many stores are open against the cap (docs/tenants.md). */
export interface OpenStoresInfo {
  /** Nodes open, opening or closing: each may hold the store's descriptors. */
  openStores: number;
  maxOpenStores: number;
  /** Opens waiting for an evicted node to finish closing. */
  waiting: number;
}

/** The NodeManager createNodeManager returns: the transport contract plus read-only introspection. */
export interface StoreNodeManager extends NodeManager, AsyncDisposable {
  readonly nodeId: string;
  /** The bus this manager's nodes publish notifications to and subscribe on. */
  readonly bus: Bus;
  /** Open nodes, sorted by store id. */
  nodes(): NodeInfo[];
  /** Open stores against `maxOpenStores`. */
  openStores(): OpenStoresInfo;
  /** Store ids whose opens have been failing, with their circuit state. */
  circuits(): CircuitInfo[];
  /** The drill-down of a store whose node is open here; undefined when none is (it does not open one). */
  storeDetail(storeId: string): Promise<StoreDetail | undefined>;
  /** Enforces a store's retention now (opening it if needed); resolves to the entries removed so far by sweeps (docs/lifecycle.md). */
  sweepRetention(storeId: string): Promise<number>;
  /** Deletes a whole store (opening it if needed): its streams end with `not_found`, its data goes. */
  deleteStore(storeId: string): Promise<void>;
  /** Forgets a store id's failed opens, closing its circuit; false when none were recorded. */
  resetCircuit(storeId: string): boolean;
  /** Stores whose last commit failed (readiness reports them; they are reopened with backoff). */
  failingCommits(): FailingCommits[];
}

/**
 * Hands out one Node per store (docs/design.md, NodeManager): shared opens, a circuit breaker per
 * store id, idle eviction, and at most `maxOpenStores` stores open: the least recently used idle node
 * makes room, and when every open node is busy a new store is refused with `resource_exhausted`
 * (docs/tenants.md).
 */
export function createNodeManager(options: NodeManagerOptions): StoreNodeManager {
  const {
    storeFactory,
    busFactory,
    idleEviction,
    circuitBreaker,
    logger,
    nodeId,
    limits,
    workerStaleMinMs,
    observer,
    maxOpenStores,
    busyRetryAfterMs,
    commitRecovery,
    retention,
  } = resolveNodeManagerOptions(options);
  const bus = busFactory();
  // The writer's side of a bus outage and the reader's (docs/design.md, Buses).
  const missed = new MissedNotifications({ bus, origin: nodeId, logger });
  const refreshes = new LiveRefreshes(bus, logger);
  const rollCall = new WorkersRollCall({
    bus,
    instance: nodeId,
    registryOf: (storeId) => {
      const node = nodes.get(storeId);
      return node?.hasWorkersRegistry === true ? (to) => void node.answerRollCall(to) : undefined;
    },
    logger,
  });
  const breaker = new CircuitBreaker(circuitBreaker);
  /** Open nodes, least recently used first (a node handed out moves to the end). */
  const nodes = new Map<string, StoreNode>();
  /** Opens in flight, with how many streams wait to be held on the node once it is open. */
  const opening = new Map<string, { node: Promise<StoreNode>; waiting: { holds: number } }>();
  /** Nodes being closed; a store is not opened again until its previous node has let go of it. */
  const closing = new Map<string, Promise<void>>();
  /** Nodes handed to a stream that has not started on them yet: never evicted. */
  const held = new Map<StoreNode, number>();
  const slots = new OpenSlots(maxOpenStores);
  let closed: Promise<void> | undefined;

  // A store whose commits fail is closed, so that its next stream opens it afresh.
  const health = new CommitHealth(commitRecovery, (storeId) => {
    const node = nodes.get(storeId);
    if (node === undefined) return;
    logger.warn({ storeId }, "commits are failing: reopening the store");
    observer.nodeEvicted(storeId, "removed");
    closeNode(storeId, node).catch((error: unknown) => logger.error({ err: error, storeId }, "closing a failing store's node failed"));
  });

  const closedError = (): StreamsError => new StreamsError("unavailable", "the node manager is closed");

  function markUsed(storeId: string, node: StoreNode): void {
    nodes.delete(storeId);
    nodes.set(storeId, node);
  }

  function hold(node: StoreNode): void {
    held.set(node, (held.get(node) ?? 0) + 1);
  }

  function unhold(node: StoreNode): void {
    const count = (held.get(node) ?? 1) - 1;
    if (count === 0) held.delete(node);
    else held.set(node, count);
  }

  function leastRecentlyUsedIdle(): [string, StoreNode] | undefined {
    for (const entry of nodes) {
      const node = entry[1];
      if (node.openStreams === 0 && !held.has(node)) return entry;
    }
    return undefined;
  }

  /**
   * A slot for one more open store: a free one now, or the one an idle node gives back once closed
   * (each waiter is owed one by a node already closing, or evicts one). Throws `resource_exhausted`
   * when every open node is busy.
   */
  function claimSlot(): Promise<void> | undefined {
    if (slots.tryTake()) return undefined;
    if (closing.size <= slots.waiting) {
      const victim = leastRecentlyUsedIdle();
      if (victim === undefined) {
        throw new StreamsError("resource_exhausted", `every open store is busy (maxOpenStores ${slots.max}); retry later`, {
          retryAfterMs: busyRetryAfterMs,
        });
      }
      const [storeId, node] = victim;
      logger.debug({ storeId }, "evicting the least recently used node to make room");
      observer.nodeEvicted(storeId, "capacity");
      closeNode(storeId, node).catch((error: unknown) => logger.error({ err: error, storeId }, "closing an evicted node failed"));
    }
    return slots.wait();
  }

  async function open(storeId: string, claimed: Promise<void> | undefined, holds: { holds: number }): Promise<StoreNode> {
    if (claimed !== undefined) {
      await claimed;
      if (closed !== undefined) {
        slots.give();
        throw closedError();
      }
    }
    await closing.get(storeId)?.catch(() => undefined);
    let node: StoreNode;
    try {
      const store = health.watch(storeId, await storeFactory.open(storeId));
      node = new StoreNode({ storeId, store, limits, logger, bus, refreshes, nodeId, workerStaleMinMs, observer, rollCall, retention });
    } catch (error) {
      slots.give();
      const retryAfterMs = breaker.failed(storeId);
      if (retryAfterMs !== undefined) observer.circuitOpened(storeId);
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, storeId }, "store open failed");
      throw new StreamsError("unavailable", `store ${storeId} could not be opened: ${reason}`, { cause: error, retryAfterMs });
    }
    breaker.succeeded(storeId);
    if (closed !== undefined) {
      await node.close();
      slots.give();
      throw closedError();
    }
    nodes.set(storeId, node);
    // Held in the same turn it opens, so nothing can evict it before its first streams start.
    if (holds.holds > 0) held.set(node, holds.holds);
    return node;
  }

  /** The store's node; `holdIt` holds it (see `held`) from the moment it is handed out. */
  function getOrCreateNode(storeId: string, holdIt = false): Promise<StoreNode> {
    if (closed !== undefined) return Promise.reject(closedError());
    const node = nodes.get(storeId);
    if (node?.deleted === true) {
      // Its store was deleted: the next open (after the node has let go) starts an empty one.
      closeNode(storeId, node).catch((error: unknown) => logger.error({ err: error, storeId }, "closing a deleted store's node failed"));
    } else if (node !== undefined) {
      node.touch();
      markUsed(storeId, node);
      if (holdIt) hold(node);
      return Promise.resolve(node);
    }
    // Checked before joining an open in flight: callers arriving during a trial open fail fast.
    try {
      breaker.admit(storeId);
    } catch (error) {
      return Promise.reject(error);
    }
    const pending = opening.get(storeId);
    if (pending !== undefined) {
      if (holdIt) pending.waiting.holds++;
      return pending.node;
    }
    let claimed: Promise<void> | undefined;
    try {
      claimed = claimSlot();
    } catch (error) {
      breaker.abandoned(storeId);
      return Promise.reject(error);
    }
    const waiting = { holds: holdIt ? 1 : 0 };
    const started = open(storeId, claimed, waiting).finally(() => opening.delete(storeId));
    opening.set(storeId, { node: started, waiting });
    return started;
  }

  async function closeNode(storeId: string, node: StoreNode): Promise<void> {
    if (nodes.get(storeId) === node) nodes.delete(storeId);
    const done = node.close().finally(() => {
      if (closing.get(storeId) === done) closing.delete(storeId);
      slots.give();
    });
    closing.set(storeId, done);
    await done;
  }

  function evictIdle(ttlMs: number): void {
    const now = Date.now();
    for (const [storeId, node] of nodes) {
      if (node.openStreams > 0 || held.has(node) || now - node.lastAccess < ttlMs) continue;
      logger.debug({ storeId }, "evicting idle node");
      observer.nodeEvicted(storeId, "idle");
      closeNode(storeId, node).catch((error: unknown) => logger.error({ err: error, storeId }, "closing an idle node failed"));
    }
  }

  const timer = idleEviction === false ? undefined : setInterval(() => evictIdle(idleEviction.idleTtlMs), idleEviction.checkIntervalMs);
  // Eviction alone must never keep a process alive.
  timer?.unref?.();

  async function closeAll(): Promise<void> {
    if (timer !== undefined) clearInterval(timer);
    await Promise.allSettled([...opening.values()].map((entry) => entry.node));
    await Promise.allSettled([...nodes].map(([storeId, node]) => closeNode(storeId, node)));
    await Promise.allSettled(closing.values());
    await rollCall.close();
    missed.close();
    await refreshes.close();
    await bus.close();
  }

  return {
    nodeId,
    bus,
    getOrCreate: (storeId: string): Promise<Node> => {
      try {
        return getOrCreateNode(normalizeStoreId(storeId));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    async handleStream(storeId: string, stream: ServerStream): Promise<void> {
      let node: StoreNode;
      let id: string;
      try {
        id = normalizeStoreId(storeId);
        node = await getOrCreateNode(id, true);
      } catch (error) {
        const failure = forClient(error, logger, { storeId });
        observer.streamRefused(storeId, failure);
        stream.fail(failure);
        return;
      }
      // handle() counts the stream as open before it returns: the hold is needed no longer.
      const handled = node.handle(stream);
      unhold(node);
      await handled;
      if (nodes.get(id) === node) markUsed(id, node);
    },
    async remove(storeId: string): Promise<void> {
      const id = normalizeStoreId(storeId);
      await opening.get(id)?.node.catch(() => undefined);
      const node = nodes.get(id);
      if (node === undefined) {
        await closing.get(id);
        return;
      }
      observer.nodeEvicted(id, "removed");
      await closeNode(id, node);
    },
    close(): Promise<void> {
      closed ??= closeAll();
      return closed;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await this.close();
    },
    nodes(): NodeInfo[] {
      return [...nodes.values()]
        .map((node) => ({
          storeId: node.storeId,
          openStreams: node.openStreams,
          lastAccess: node.lastAccess,
          usage: node.usage(),
          sweptEntries: node.sweptEntries,
          liveTails: node.liveTailTotals(),
        }))
        .sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0));
    },
    async storeDetail(storeId: string): Promise<StoreDetail | undefined> {
      const id = normalizeStoreId(storeId);
      try {
        return await nodes.get(id)?.detail();
      } catch (error) {
        // A store's own failure text may name files or hosts: the operator API gets the generic one.
        throw forClient(error, logger, { storeId: id, op: "store_detail" });
      }
    },
    openStores: (): OpenStoresInfo => ({ openStores: slots.used, maxOpenStores: slots.max, waiting: slots.waiting }),
    circuits: () => breaker.circuits(),
    async sweepRetention(storeId: string): Promise<number> {
      const node = await getOrCreateNode(normalizeStoreId(storeId));
      await node.sweepRetention();
      return node.sweptEntries;
    },
    async deleteStore(storeId: string): Promise<void> {
      const node = await getOrCreateNode(normalizeStoreId(storeId));
      await node.deleteStore();
    },
    resetCircuit: (storeId: string): boolean => breaker.reset(normalizeStoreId(storeId)),
    failingCommits: () => health.failing(),
  };
}
