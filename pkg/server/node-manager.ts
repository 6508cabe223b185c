import { normalizeStoreId, type ServerStream, StreamsError } from "../api/index.js";
import type { Bus } from "../../bus/types.js";
import { CircuitBreaker, type CircuitInfo } from "./circuit-breaker.js";
import { StoreNode } from "./node.js";
import { type NodeManagerOptions, resolveNodeManagerOptions } from "./options.js";
import type { Node, NodeManager } from "./types.js";

/** One node as status reports it. */
export interface NodeInfo {
  storeId: string;
  openStreams: number;
  /** Milliseconds since epoch. */
  lastAccess: number;
}

/** The NodeManager createNodeManager returns: the transport contract plus read-only introspection. */
export interface StoreNodeManager extends NodeManager, AsyncDisposable {
  readonly nodeId: string;
  /** The bus this manager's nodes publish notifications to and subscribe on. */
  readonly bus: Bus;
  /** Open nodes, sorted by store id. */
  nodes(): NodeInfo[];
  /** Store ids whose opens have been failing, with their circuit state. */
  circuits(): CircuitInfo[];
  /** Forgets a store id's failed opens, closing its circuit; false when none were recorded. */
  resetCircuit(storeId: string): boolean;
}

/** Hands out one Node per store (docs/design.md, NodeManager): shared opens, a circuit breaker per store id, idle eviction. */
export function createNodeManager(options: NodeManagerOptions): StoreNodeManager {
  const { storeFactory, busFactory, idleEviction, circuitBreaker, logger, nodeId, limits, workerStaleMinMs, observer } =
    resolveNodeManagerOptions(options);
  const bus = busFactory();
  const breaker = new CircuitBreaker(circuitBreaker);
  const nodes = new Map<string, StoreNode>();
  const opening = new Map<string, Promise<StoreNode>>();
  /** Nodes being closed; a store is not opened again until its previous node has let go of it. */
  const closing = new Map<string, Promise<void>>();
  let closed: Promise<void> | undefined;

  const closedError = (): StreamsError => new StreamsError("unavailable", "the node manager is closed");

  async function open(storeId: string): Promise<StoreNode> {
    await closing.get(storeId)?.catch(() => undefined);
    let node: StoreNode;
    try {
      const store = await storeFactory.open(storeId);
      node = new StoreNode({ storeId, store, limits, logger, bus, nodeId, workerStaleMinMs, observer });
    } catch (error) {
      const retryAfterMs = breaker.failed(storeId);
      if (retryAfterMs !== undefined) observer.circuitOpened(storeId);
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, storeId }, "store open failed");
      throw new StreamsError("unavailable", `store ${storeId} could not be opened: ${reason}`, { cause: error, retryAfterMs });
    }
    breaker.succeeded(storeId);
    if (closed !== undefined) {
      await node.close();
      throw closedError();
    }
    nodes.set(storeId, node);
    return node;
  }

  function getOrCreateNode(storeId: string): Promise<StoreNode> {
    if (closed !== undefined) return Promise.reject(closedError());
    const node = nodes.get(storeId);
    if (node !== undefined) {
      node.touch();
      return Promise.resolve(node);
    }
    // Checked before joining an open in flight: callers arriving during a trial open fail fast.
    try {
      breaker.admit(storeId);
    } catch (error) {
      return Promise.reject(error);
    }
    const pending = opening.get(storeId);
    if (pending !== undefined) return pending;
    const started = open(storeId).finally(() => opening.delete(storeId));
    opening.set(storeId, started);
    return started;
  }

  async function closeNode(storeId: string, node: StoreNode): Promise<void> {
    if (nodes.get(storeId) === node) nodes.delete(storeId);
    const done = node.close().finally(() => {
      if (closing.get(storeId) === done) closing.delete(storeId);
    });
    closing.set(storeId, done);
    await done;
  }

  function evictIdle(ttlMs: number): void {
    const now = Date.now();
    for (const [storeId, node] of nodes) {
      if (node.openStreams > 0 || now - node.lastAccess < ttlMs) continue;
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
    await Promise.allSettled(opening.values());
    await Promise.allSettled([...nodes].map(([storeId, node]) => closeNode(storeId, node)));
    await Promise.allSettled(closing.values());
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
      try {
        node = await getOrCreateNode(normalizeStoreId(storeId));
      } catch (error) {
        const failure = StreamsError.from(error);
        observer.streamRefused(storeId, failure);
        stream.fail(failure);
        return;
      }
      await node.handle(stream);
    },
    async remove(storeId: string): Promise<void> {
      const id = normalizeStoreId(storeId);
      await opening.get(id)?.catch(() => undefined);
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
        .map((node) => ({ storeId: node.storeId, openStreams: node.openStreams, lastAccess: node.lastAccess }))
        .sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0));
    },
    circuits: () => breaker.circuits(),
    resetCircuit: (storeId: string): boolean => breaker.reset(normalizeStoreId(storeId)),
  };
}
