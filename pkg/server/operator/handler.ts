import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { invalidArgument, normalizeStoreId, StreamsError } from "../../api/internal/index.js";
import { createMetricsRegistry } from "../metrics/prometheus.js";
import { type AdminAccess, authorizeAdmin } from "./admin-access.js";
import { DashboardFiles, type DashboardFile } from "./dashboard-files.js";
import { send, sendError, sendJson, sendMethodNotAllowed } from "./http.js";
import { InstanceBeacon } from "./instances.js";
import { type OperatorOptions, resolveOperatorOptions } from "./options.js";
import { RateHistory } from "./history.js";
import { RateWindow } from "./rates.js";
import { buildStatus, type OperatorStatus } from "./status.js";
import { StatusStream } from "./status-stream.js";

/**
 * Answers the operator endpoints; returns false for any other request, which the host then
 * answers itself. Mount it in front of the host's own request handler.
 */
export interface OperatorHandler {
  (request: IncomingMessage, response: ServerResponse): boolean;
  /** The Prometheus registry `/metrics` serves. */
  readonly registry: Registry;
  /** What `/api/status` answers. */
  status(): OperatorStatus;
  /** Ends status streams and stops the timers and the bus announcements. Idempotent. */
  close(): Promise<void>;
}

type Params = readonly string[];

interface Route {
  methods: readonly string[];
  admin?: true;
  run(request: IncomingMessage, response: ServerResponse, params: Params): Promise<void> | void;
}

const GET = ["GET", "HEAD"] as const;
const POST = ["POST"] as const;

function pathParam(raw: string | undefined, name: string): string {
  try {
    return decodeURIComponent(raw ?? "");
  } catch {
    throw invalidArgument(name, "is not valid percent-encoding");
  }
}

/**
 * The operator HTTP API of one server instance (docs/operator.md): `/version`, `/metrics`, `/api/status`,
 * `/api/status/stream` (server-sent events), `/api/status/history` (the last minutes of rates), `/api/stores/:storeId` (one store's drill-down), the admin actions under `/api/admin/` and the
 * dashboard at `/dashboard` (and `/`), a page that only calls these same endpoints.
 */
export function createOperatorHandler(options: OperatorOptions): OperatorHandler {
  const config = resolveOperatorOptions(options);
  const { manager, activity, streamz, bus, logger } = config;
  const startedAt = Date.now();
  const connections = () => streamz?.connections() ?? [];
  const registry = createMetricsRegistry(
    { activity, manager, bus, streamz: { connections } },
    { registry: config.registry, defaultMetrics: config.defaultMetrics, version: config.version },
  );
  const rates = new RateWindow(config.rateWindowMs);
  const beacon = new InstanceBeacon({
    bus,
    nodeId: manager.nodeId,
    version: config.version,
    startedAt,
    intervalMs: config.announceIntervalMs,
    connections: () => connections().length,
    streams: () => connections().reduce((sum, connection) => sum + connection.streams.length, 0),
    address: () => config.address?.(),
    logger,
  });
  const status = (): OperatorStatus =>
    buildStatus({ nodeId: manager.nodeId, address: config.address?.(), version: config.version, startedAt, activity, manager, connections, bus, rates, beacon, recentErrors: config.recentErrors });
  const statusStream = new StatusStream({ status, maxClients: config.maxStatusClients, heartbeatMs: config.heartbeatMs, logger });
  const sample = () => {
    const now = Date.now();
    rates.sample(now, activity.snapshot(now), activity.storeTraffic(now));
  };
  sample();
  const ticker = setInterval(() => {
    sample();
    statusStream.tick();
  }, config.statusIntervalMs);
  ticker.unref?.();
  const history = new RateHistory(config.historyIntervalMs, config.historyWindowMs);
  const sampleHistory = () => {
    const now = Date.now();
    const { entriesProduced, entriesConsumed, errors } = activity.snapshot(now);
    history.sample(now, { entriesProduced, entriesConsumed, errors: Object.values(errors).reduce((sum, n) => sum + n, 0) });
  };
  sampleHistory();
  const historyTicker = setInterval(sampleHistory, config.historyIntervalMs);
  historyTicker.unref?.();
  const files = new DashboardFiles();
  const access: AdminAccess = { authenticator: config.authenticator, trustLoopback: config.trustLoopback, isLocalRequest: config.isLocalRequest };

  const file = (name: DashboardFile): Route => ({ methods: GET, run: (request, response) => files.serve(request, response, name) });
  const exact = new Map<string, Route>([
    ["/version", { methods: GET, run: (request, response) => sendJson(request, response, 200, versionBody()) }],
    ["/metrics", { methods: GET, run: serveMetrics }],
    ["/api/status", { methods: GET, run: (request, response) => sendJson(request, response, 200, status()) }],
    ["/api/status/stream", { methods: ["GET"], run: (request, response) => statusStream.attach(request, response) }],
    ["/api/status/history", { methods: GET, run: (request, response) => sendJson(request, response, 200, history.answer()) }],
    ["/dashboard", file("index.html")],
    ["/dashboard/", file("index.html")],
    ["/dashboard/app.js", file("app.js")],
    ["/dashboard/style.css", file("style.css")],
  ]);
  if (config.dashboardAtRoot) exact.set("/", file("index.html"));
  const patterns: [RegExp, Route][] = [
    [/^\/api\/stores\/([^/]+)$/, { methods: GET, run: storeDetail }],
    [/^\/api\/admin\/connections\/([^/]+)\/close$/, { methods: POST, admin: true, run: closeConnection }],
    [/^\/api\/admin\/stores\/([^/]+)\/evict$/, { methods: POST, admin: true, run: evictStore }],
    [/^\/api\/admin\/stores\/([^/]+)\/circuit\/reset$/, { methods: POST, admin: true, run: resetCircuit }],
    [/^\/api\/admin\/stores\/([^/]+)\/sweep$/, { methods: POST, admin: true, run: sweepStore }],
    [/^\/api\/admin\/stores\/([^/]+)\/delete$/, { methods: POST, admin: true, run: deleteStore }],
  ];

  function versionBody() {
    return { name: "streamkit-ts", version: config.version, node: process.version, nodeId: manager.nodeId, startedAt };
  }

  async function serveMetrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
    send(request, response, 200, { "content-type": registry.contentType }, await registry.metrics());
  }

  function closeConnection(request: IncomingMessage, response: ServerResponse, [raw]: Params): void {
    const id = pathParam(raw, "connection id");
    if (streamz?.closeConnection(id) !== true) throw new StreamsError("not_found", `no open connection ${JSON.stringify(id)}`);
    sendJson(request, response, 200, { ok: true, connection: id });
  }

  /** One open store's spaces, segments, live tails and workers (docs/operator.md, "Store drill-down"). */
  async function storeDetail(request: IncomingMessage, response: ServerResponse, [raw]: Params): Promise<void> {
    const storeId = normalizeStoreId(pathParam(raw, "storeId"));
    if (manager.storeDetail === undefined) throw new StreamsError("failed_precondition", "this server cannot show a store's detail");
    const detail = await manager.storeDetail(storeId);
    // Only open stores: opening one to look at it would spend a slot of maxOpenStores (docs/tenants.md).
    if (detail === undefined) throw new StreamsError("not_found", `no node open for store ${storeId} on this instance`);
    sendJson(request, response, 200, detail);
  }

  async function evictStore(request: IncomingMessage, response: ServerResponse, [raw]: Params): Promise<void> {
    const storeId = normalizeStoreId(pathParam(raw, "storeId"));
    if (!manager.nodes().some((node) => node.storeId === storeId)) throw new StreamsError("not_found", `no node open for store ${storeId}`);
    await manager.remove(storeId);
    sendJson(request, response, 200, { ok: true, storeId });
  }

  /** Enforces the store's retention now (docs/lifecycle.md). */
  async function sweepStore(request: IncomingMessage, response: ServerResponse, [raw]: Params): Promise<void> {
    const storeId = normalizeStoreId(pathParam(raw, "storeId"));
    if (manager.sweepRetention === undefined) throw new StreamsError("failed_precondition", "this server cannot sweep retention");
    const sweptEntries = await manager.sweepRetention(storeId);
    sendJson(request, response, 200, { ok: true, storeId, sweptEntries });
  }

  /** Deletes the whole store (docs/lifecycle.md); the dashboard asks for confirmation first. */
  async function deleteStore(request: IncomingMessage, response: ServerResponse, [raw]: Params): Promise<void> {
    const storeId = normalizeStoreId(pathParam(raw, "storeId"));
    if (manager.deleteStore === undefined) throw new StreamsError("failed_precondition", "this server cannot delete stores");
    await manager.deleteStore(storeId);
    sendJson(request, response, 200, { ok: true, storeId });
  }

  function resetCircuit(request: IncomingMessage, response: ServerResponse, [raw]: Params): void {
    const storeId = normalizeStoreId(pathParam(raw, "storeId"));
    const previous = manager.circuits().find((circuit) => circuit.storeId === storeId) ?? null;
    manager.resetCircuit(storeId);
    sendJson(request, response, 200, { ok: true, storeId, previous });
  }

  function find(path: string): { route: Route; params: Params } | undefined {
    const route = exact.get(path);
    if (route !== undefined) return { route, params: [] };
    for (const [pattern, candidate] of patterns) {
      const match = pattern.exec(path);
      if (match !== null) return { route: candidate, params: match.slice(1) };
    }
    return undefined;
  }

  async function serve(request: IncomingMessage, response: ServerResponse, route: Route, params: Params, path: string): Promise<void> {
    if (!route.methods.includes(request.method ?? "")) return sendMethodNotAllowed(request, response, route.methods);
    if (route.admin === true) {
      const by = await authorizeAdmin(request, access);
      logger.info({ path, by, remoteAddress: request.socket.remoteAddress }, "operator admin action");
    }
    await route.run(request, response, params);
    // Admin actions show in live status at once rather than on the next tick.
    if (route.admin === true) statusStream.tick();
  }

  const fail = (request: IncomingMessage, response: ServerResponse, error: unknown): void => {
    if (!(error instanceof StreamsError)) logger.error({ err: error, url: request.url }, "operator endpoint failed");
    if (response.headersSent) {
      response.destroy();
      return;
    }
    sendError(request, response, error instanceof StreamsError ? error : new StreamsError("internal", "internal error"));
  };

  const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const found = find(path);
    if (found === undefined) {
      // The admin and status namespaces are ours: unknown paths there are answered, not passed on.
      if (!["/api/admin/", "/api/status/", "/api/stores/"].some((prefix) => path.startsWith(prefix))) return false;
      fail(request, response, new StreamsError("not_found", `no operator endpoint at ${path}`));
      return true;
    }
    serve(request, response, found.route, found.params, path).catch((error: unknown) => fail(request, response, error));
    return true;
  };

  let closing: Promise<void> | undefined;
  return Object.assign(handle, {
    registry,
    status,
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(ticker);
        clearInterval(historyTicker);
        statusStream.close();
        await beacon.close();
      })();
      return closing;
    },
  });
}
