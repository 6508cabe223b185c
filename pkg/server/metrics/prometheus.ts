import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { ERROR_KINDS } from "../../api/index.js";
import type { BusStats } from "../../../bus/types.js";
import { openDescriptors } from "../descriptors.js";
import type { NodeInfo, OpenStoresInfo } from "../node-manager.js";
import type { ActivitySnapshot, ServerActivity } from "./activity.js";
import type { EvictionReason } from "./observer.js";
import { STREAM_OPS } from "./timings.js";

/** What the metrics read at each scrape. */
export interface MetricsSources {
  activity: ServerActivity;
  /** Open nodes (`streamkit_nodes_open`). */
  manager?: { nodes(): readonly NodeInfo[]; openStores?(): OpenStoresInfo };
  /** Open WebSocket connections (`streamkit_connections`). */
  streamz?: { connections(): readonly unknown[] };
  /** Bus counters (`streamkit_bus_*_total`). */
  bus?: { readonly stats: BusStats; readonly connected?: boolean };
}

export interface MetricsOptions {
  /** Register into this registry instead of a new one (never prom-client's global default unless passed). */
  registry?: Registry;
  /** Also collect prom-client's default process metrics. Default true. */
  defaultMetrics?: boolean;
  /** `version` label of streamkit_build_info. Default "unknown". */
  version?: string;
}

const EVICTION_REASONS: readonly EvictionReason[] = ["idle", "removed", "capacity"];

/**
 * Bucket bounds in seconds. Commits and requests: from a group-committed batch (sub-millisecond)
 * to a stalled disk or database; follow lag reaches further, since a slow reader falls behind.
 */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every label value in `values` present from the first scrape, at 0 (absent series break rate() and alerts). */
const withZeros = (values: readonly string[], counts: Counts): Counts => ({ ...Object.fromEntries(values.map((value) => [value, 0])), ...counts });

type Counts = { readonly [label: string]: number };

/** A counter whose value lives elsewhere: set from `read` at each scrape. */
function externalCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge per open store (label `store`), from what its node last measured; stores not measured yet are left out. */
function storeGauge(registry: Registry, name: string, help: string, nodes: () => readonly NodeInfo[], read: (node: NodeInfo) => number | undefined): void {
  new Gauge({
    name,
    help,
    labelNames: ["store"],
    registers: [registry],
    collect() {
      this.reset();
      for (const node of nodes()) {
        const value = read(node);
        if (value !== undefined) this.set({ store: node.storeId }, value);
      }
    },
  });
}

/** A counter per open store (label `store`), from its node; stores it reads undefined for are left out. */
function storeCounter(registry: Registry, name: string, help: string, nodes: () => readonly NodeInfo[], read: (node: NodeInfo) => number | undefined): void {
  new Counter({
    name,
    help,
    labelNames: ["store"],
    registers: [registry],
    collect() {
      this.reset();
      for (const node of nodes()) {
        const value = read(node);
        if (value !== undefined) this.inc({ store: node.storeId }, value);
      }
    },
  });
}

/** A labelled counter whose values live elsewhere. */
function externalCounters(registry: Registry, name: string, help: string, label: string, values: readonly string[], read: () => Counts): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, count] of Object.entries(withZeros(values, read()))) this.inc({ [label]: value }, count);
    },
  });
}

function externalGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * The Prometheus metrics of one server instance, in a registry of its own (so two servers in one
 * process never clash). Every value is read from its source at scrape time: nothing on the hot path.
 */
export function createMetricsRegistry(sources: MetricsSources, options: MetricsOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  const { activity, manager, streamz, bus } = sources;
  const snapshot = (): ActivitySnapshot => activity.snapshot();
  const counter = (name: string, help: string, read: (s: ActivitySnapshot) => number) => externalCounter(registry, name, help, () => read(snapshot()));
  const gauge = (name: string, help: string, read: () => number) => externalGauge(registry, name, help, read);

  gauge("streamkit_connections", "Open WebSocket connections.", () => streamz?.connections().length ?? 0);
  new Gauge({
    name: "streamkit_streams_open",
    help: "Logical streams being handled, by operation.",
    labelNames: ["op"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [op, count] of Object.entries(withZeros(STREAM_OPS, snapshot().streamsOpen))) this.set({ op }, count);
    },
  });
  externalCounters(registry, "streamkit_streams_total", "Logical streams opened, by operation.", "op", STREAM_OPS, () => snapshot().streamsTotal);
  counter("streamkit_produced_entries_total", "Entries committed by produce and publish.", (s) => s.entriesProduced);
  counter("streamkit_produced_bytes_total", "Payload bytes committed by produce and publish.", (s) => s.bytesProduced);
  counter("streamkit_consumed_entries_total", "Entries sent to readers.", (s) => s.entriesConsumed);
  counter("streamkit_consumed_bytes_total", "Payload bytes sent to readers.", (s) => s.bytesConsumed);
  new Counter({
    name: "streamkit_operation_errors_total",
    help: "Errors by operation and kind: streams that ended with one, publishes of a lane refused, streams refused at open (op of their first message), upgrades (op upgrade).",
    labelNames: ["op", "kind"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [op, kinds] of Object.entries(snapshot().errorsByOp)) for (const [kind, count] of Object.entries(kinds)) this.inc({ op, kind }, count);
      for (const [reason, count] of Object.entries(snapshot().upgradesRefused)) this.inc({ op: "upgrade", kind: reason === "too_many_connections" || reason === "shutting_down" || reason === "timeout" ? "unavailable" : "unauthenticated" }, count);
    },
  });
  new Counter({
    name: "streamkit_upgrades_refused_total",
    help: "WebSocket upgrades refused, by reason: missing_token, token_expired, token_lifetime, invalid_signature, invalid_token (401); too_many_connections, shutting_down, timeout (503).",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(snapshot().upgradesRefused)) this.inc({ reason }, count);
    },
  });
  externalCounters(registry, "streamkit_errors_total", "Streams that ended with an error, by error kind (client cancellations excluded).", "kind", ERROR_KINDS, () => snapshot().errors);
  gauge("streamkit_nodes_open", "Store nodes open on this instance.", () => manager?.nodes().length ?? 0);
  storeGauge(registry, "streamkit_store_entries", "Kept entries of each open store (docs/lifecycle.md).", () => manager?.nodes() ?? [], (node) => node.usage?.entries);
  storeGauge(registry, "streamkit_store_bytes", "Bytes each open store's data takes (files of a level store).", () => manager?.nodes() ?? [], (node) => node.usage?.bytes);
  storeGauge(registry, "streamkit_store_swept_entries", "Entries this instance's retention sweeps removed, per open store.", () => manager?.nodes() ?? [], (node) => node.sweptEntries);
  gauge("streamkit_open_stores", "Stores open, opening or closing, against streamkit_max_open_stores.", () => manager?.openStores?.().openStores ?? 0);
  gauge("streamkit_max_open_stores", "Most stores open at once (maxOpenStores).", () => manager?.openStores?.().maxOpenStores ?? 0);
  gauge("streamkit_descriptors_open", "File descriptors this process has open (Linux).", () => openDescriptors() ?? 0);
  externalCounters(registry, "streamkit_node_evictions_total", "Nodes closed by idle eviction, an explicit remove or to make room under maxOpenStores, by reason.", "reason", EVICTION_REASONS, () => snapshot().evictions);
  counter("streamkit_circuit_opens_total", "Times a store's circuit breaker opened.", (s) => s.circuitOpens);
  externalCounter(registry, "streamkit_bus_published_total", "Messages handed to the bus.", () => bus?.stats.published ?? 0);
  gauge("streamkit_bus_connected", "1 while the bus is connected, 0 while it is down (degraded: produce goes on, other instances hear of it late).", () =>
    bus?.connected === false ? 0 : 1,
  );
  externalCounter(registry, "streamkit_bus_dropped_total", "Messages the bus dropped (queue full or connection down).", () => bus?.stats.dropped ?? 0);
  const nodes = () => manager?.nodes() ?? [];
  // Per store, only where something was followed: an instance of 10,000 quiet stores adds no series.
  const tails = (read: (totals: NodeInfo["liveTails"]) => number) => (node: NodeInfo) =>
    node.liveTails.tails > 0 || node.liveTails.joins > 0 ? read(node.liveTails) : undefined;
  storeGauge(registry, "streamkit_live_tail_spaces", "Spaces with a shared live tail (followed) on this instance, per store.", nodes, tails((t) => t.tails));
  storeGauge(registry, "streamkit_live_tail_followers", "Follow reads on the shared live tails, per store.", nodes, tails((t) => t.followers));
  storeGauge(registry, "streamkit_live_tail_window_bytes", "Bytes the live tails' windows hold, per store (each at most liveWindowBytes).", nodes, tails((t) => t.windowBytes));
  storeCounter(registry, "streamkit_live_tail_fell_behind_total", "Followers the live tail window left behind (they read storage, then rejoin), per store.", nodes, tails((t) => t.fellBehind));
  storeCounter(registry, "streamkit_live_tail_joins_total", "Followers joining a live tail window, per store.", nodes, tails((t) => t.joins));
  storeCounter(registry, "streamkit_live_tail_reads_total", "Storage reads made by the live tails (one per commit group, whoever follows), per store.", nodes, tails((t) => t.reads));
  gauge("streamkit_subscriptions", "Status subscriptions open on this instance.", () => activity.snapshot().subscriptions);
  gauge("streamkit_leases_held", "Leases granted through this instance that are still live.", () => activity.snapshot().leases);
  gauge("streamkit_workers", "Workers registered through streams on this instance.", () => activity.snapshot().workers);
  new Gauge({
    name: "streamkit_build_info",
    help: "Always 1; its labels say which build runs.",
    labelNames: ["version", "node_version"],
    registers: [registry],
  }).set({ version: options.version ?? "unknown", node_version: process.version }, 1);
  timingHistograms(registry, activity);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The latency histograms, fed as durations happen (ServerActivity's timing sink); every op's series from the start. */
function timingHistograms(registry: Registry, activity: ServerActivity): void {
  const commit = new Histogram({
    name: "streamkit_commit_duration_seconds",
    help: "Store commits (a produce batch or a publish), from handing them to the store until durable (fsync or database commit included).",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const request = new Histogram({
    name: "streamkit_request_duration_seconds",
    help: "Requests until their first answer, by operation: a stream's first message, and each later produce batch or publish.",
    labelNames: ["op"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  for (const op of STREAM_OPS) request.zero({ op });
  const lag = new Histogram({
    name: "streamkit_follow_lag_seconds",
    help: "Live entries of follows, from their commit timestamp until sent to the reader (the oldest entry of each message).",
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  activity.addTimingSink({
    commit: (seconds) => commit.observe(seconds),
    request: (op, seconds) => request.observe({ op }, seconds),
    followLag: (seconds) => lag.observe(seconds),
  });
}
