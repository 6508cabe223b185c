import type { ConnectionInfo } from "./connections.js";
import type { Bus } from "../../../bus/types.js";
import type { CircuitInfo, CircuitState } from "../circuit-breaker.js";
import type { ActivitySnapshot, RecentError, ServerActivity } from "../metrics/activity.js";
import { descriptorLimit, openDescriptors } from "../descriptors.js";
import type { LiveTailTotals } from "../live/live-tails.js";
import type { NodeInfo, OpenStoresInfo } from "../node-manager.js";
import type { InstanceBeacon, InstanceStatus } from "./instances.js";
import type { RateWindow, TrafficRates } from "./rates.js";

/** One WebSocket connection. Times are milliseconds since epoch; null when unknown. */
export interface ConnectionStatus {
  id: string;
  clientAddress: string | null;
  userAgent: string | null;
  /** The token's subject. */
  subject: string | null;
  openedAt: number;
  /** The last pong; null until the first one. */
  lastHeartbeat: number | null;
  /** A ping went unanswered for a whole interval; the next missed one drops the connection. */
  stale: boolean;
  /** Logical streams open on it. */
  streams: number;
  /** Stores those streams are on. */
  stores: string[];
  bytesIn: number;
  bytesOut: number;
  /** Bytes sent but not yet taken by the peer (docs/limits.md). */
  unsentBytes: number;
  /** The server stopped reading this peer until it drains what it was sent. */
  readPaused: boolean;
  /** Bytes of the connection's memory budget in use. */
  memoryBytes: number;
}

/** One store this instance knows of: an open node, a circuit with failures, or recent traffic. */
export interface StoreStatusRow {
  storeId: string;
  node: "open" | "closed";
  openStreams: number;
  lastAccess: number | null;
  circuit: CircuitState;
  /** Consecutive failed opens. */
  failures: number;
  /** Time left before the open circuit lets a trial through. */
  retryAfterMs: number;
  entriesProducedPerSec: number;
  entriesConsumedPerSec: number;
  /** Kept entries of an open store (null until measured, or closed). */
  entries: number | null;
  /** Bytes its data takes where it lives: files of a level store, payload bytes in memory or of the rows stored in PostgreSQL (null until measured). */
  bytes: number | null;
  /** Entries removed by this instance's retention sweeps (docs/lifecycle.md). */
  sweptEntries: number;
  /** Its shared live tails on this instance (docs/configuration.md, "Live tail"); zeros when closed. */
  liveTails: LiveTailTotals;
}

export interface OperatorStatus {
  instance: {
    nodeId: string;
    /** Where clients reach this instance (`http://host:port`); null when not known. */
    address: string | null;
    version: string;
    nodeVersion: string;
    startedAt: number;
    uptimeMs: number;
    now: number;
  };
  counts: {
    connections: number;
    staleConnections: number;
    streams: number;
    nodes: number;
    subscriptions: number;
    leases: number;
    workers: number;
  };
  /** Open stores against their cap, and the process's file descriptors (docs/tenants.md); null when unknown. */
  resources: {
    openStores: number;
    maxOpenStores: number | null;
    /** Store opens waiting for an evicted store to finish closing. */
    waitingOpens: number;
    descriptors: number | null;
    descriptorLimit: number | null;
  };
  /**
   * The shared live tails of every open store on this instance, summed: spaces followed and their
   * followers, bytes in their windows, and since each store opened its tails' storage reads,
   * followers joining a window, and followers that fell behind one (and read storage to catch up).
   */
  liveTails: LiveTailTotals;
  /** This instance's rates over the last `windowMs`. */
  rates: TrafficRates & { windowMs: number };
  totals: Pick<ActivitySnapshot, "entriesProduced" | "bytesProduced" | "entriesConsumed" | "bytesConsumed" | "circuitOpens" | "evictions" | "errors">;
  /** Streams open right now, by operation. */
  streamsByOp: { [op: string]: number };
  connections: ConnectionStatus[];
  stores: StoreStatusRow[];
  bus: { connected: boolean; published: number; dropped: number };
  /** Other instances on the same bus. */
  instances: InstanceStatus[];
  /** The latest errors streams ended with, newest first. */
  errors: RecentError[];
}

/** What the status is made of. */
export interface StatusSources {
  nodeId: string;
  address?: string | undefined;
  version: string;
  startedAt: number;
  activity: ServerActivity;
  manager: { nodes(): NodeInfo[]; circuits(): CircuitInfo[]; openStores?(): OpenStoresInfo };
  connections(): ConnectionInfo[];
  bus: Pick<Bus, "connected" | "stats">;
  rates: RateWindow;
  beacon: InstanceBeacon;
  /** How many recent errors the status carries. */
  recentErrors: number;
}

function connectionStatus(info: ConnectionInfo): ConnectionStatus {
  return {
    id: info.id,
    clientAddress: info.remoteAddress ?? null,
    userAgent: info.userAgent ?? null,
    subject: info.subject ?? null,
    openedAt: info.openedAt,
    lastHeartbeat: info.lastPongAt ?? null,
    stale: info.stale,
    streams: info.streams.length,
    stores: [...new Set(info.streams.map((stream) => stream.storeId))].sort(),
    bytesIn: info.bytesIn,
    bytesOut: info.bytesOut,
    unsentBytes: info.bufferedBytes,
    readPaused: info.readPaused,
    memoryBytes: info.memoryBytes,
  };
}

const noTails = (): LiveTailTotals => ({ tails: 0, followers: 0, windowBytes: 0, reads: 0, joins: 0, fellBehind: 0 });

/** Every open store's live tails summed. */
function liveTailTotals(nodes: readonly NodeInfo[]): LiveTailTotals {
  const totals = noTails();
  for (const { liveTails } of nodes) for (const key of Object.keys(totals) as (keyof LiveTailTotals)[]) totals[key] += liveTails[key];
  return totals;
}

/** Nodes, circuits and per-store rates merged into one row per store id, sorted. */
function storeRows(nodes: NodeInfo[], circuits: CircuitInfo[], rates: Map<string, TrafficRates>): StoreStatusRow[] {
  const rows = new Map<string, StoreStatusRow>();
  const row = (storeId: string): StoreStatusRow => {
    let existing = rows.get(storeId);
    if (existing === undefined) {
      existing = {
        storeId,
        node: "closed",
        openStreams: 0,
        lastAccess: null,
        circuit: "closed",
        failures: 0,
        retryAfterMs: 0,
        entriesProducedPerSec: 0,
        entriesConsumedPerSec: 0,
        entries: null,
        bytes: null,
        sweptEntries: 0,
        liveTails: noTails(),
      };
      rows.set(storeId, existing);
    }
    return existing;
  };
  for (const node of nodes) {
    Object.assign(row(node.storeId), {
      node: "open",
      openStreams: node.openStreams,
      lastAccess: node.lastAccess,
      entries: node.usage?.entries ?? null,
      bytes: node.usage?.bytes ?? null,
      sweptEntries: node.sweptEntries,
      liveTails: node.liveTails,
    });
  }
  for (const circuit of circuits) {
    Object.assign(row(circuit.storeId), { circuit: circuit.state, failures: circuit.failures, retryAfterMs: circuit.retryAfterMs });
  }
  for (const [storeId, rate] of rates) {
    // A store that was quiet for the whole window and has no node or circuit is not worth a row.
    if (!rows.has(storeId) && rate.entriesProducedPerSec === 0 && rate.entriesConsumedPerSec === 0) continue;
    Object.assign(row(storeId), { entriesProducedPerSec: rate.entriesProducedPerSec, entriesConsumedPerSec: rate.entriesConsumedPerSec });
  }
  return [...rows.values()].sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0));
}

function resources(open: OpenStoresInfo | undefined, nodes: number): OperatorStatus["resources"] {
  return {
    openStores: open?.openStores ?? nodes,
    maxOpenStores: open?.maxOpenStores ?? null,
    waitingOpens: open?.waiting ?? 0,
    descriptors: openDescriptors() ?? null,
    descriptorLimit: descriptorLimit() ?? null,
  };
}

/** This instance's status, as `/api/status` answers it. */
export function buildStatus(sources: StatusSources, now = Date.now()): OperatorStatus {
  const activity = sources.activity.snapshot(now);
  const connections = sources.connections().map(connectionStatus);
  const nodes = sources.manager.nodes();
  const busStats = sources.bus.stats;
  return {
    instance: {
      nodeId: sources.nodeId,
      address: sources.address ?? null,
      version: sources.version,
      nodeVersion: process.version,
      startedAt: sources.startedAt,
      uptimeMs: now - sources.startedAt,
      now,
    },
    counts: {
      connections: connections.length,
      staleConnections: connections.filter((connection) => connection.stale).length,
      streams: Object.values(activity.streamsOpen).reduce((sum, count) => sum + count, 0),
      nodes: nodes.length,
      subscriptions: activity.subscriptions,
      leases: activity.leases,
      workers: activity.workers,
    },
    resources: resources(sources.manager.openStores?.(), nodes.length),
    liveTails: liveTailTotals(nodes),
    rates: { windowMs: sources.rates.windowMs, ...sources.rates.instance() },
    totals: {
      entriesProduced: activity.entriesProduced,
      bytesProduced: activity.bytesProduced,
      entriesConsumed: activity.entriesConsumed,
      bytesConsumed: activity.bytesConsumed,
      circuitOpens: activity.circuitOpens,
      evictions: activity.evictions,
      errors: activity.errors,
    },
    streamsByOp: Object.fromEntries(Object.entries(activity.streamsOpen).filter(([, count]) => count > 0)),
    connections,
    stores: storeRows(nodes, sources.manager.circuits(), sources.rates.stores()),
    bus: { connected: sources.bus.connected, published: busStats.published, dropped: busStats.dropped },
    instances: sources.beacon.instances(now),
    errors: sources.activity.recentErrors().slice(0, sources.recentErrors),
  };
}
