import type { IncomingMessage } from "node:http";
import type { Registry } from "prom-client";
import type { Bus } from "../../../bus/types.js";
import type { Authenticator } from "../auth/index.js";
import { type Logger, silentLogger } from "../../api/logger.js";
import type { ServerActivity } from "../metrics/activity.js";
import type { StoreNodeManager } from "../node-manager.js";
import { isLocalRequest } from "./admin-access.js";
import type { ConnectionDirectory } from "./connections.js";
import { packageVersion } from "./version.js";
import { definedOnly, nonNegativeInteger, positiveInteger, requireMethods } from "../../api/internal/options.js";

export interface OperatorOptions {
  /** The NodeManager whose nodes and circuits the status shows and the admin endpoints act on. */
  manager: Pick<StoreNodeManager, "nodeId" | "bus" | "nodes" | "circuits" | "resetCircuit" | "remove"> & Partial<Pick<StoreNodeManager, "openStores" | "sweepRetention" | "deleteStore" | "storeDetail">>;
  /** The activity the manager reports to (its `observer`): traffic, streams, errors. */
  activity: ServerActivity;
  /** The WebSocket endpoint: its connections are listed and can be closed. Absent: no connections. */
  streamz?: ConnectionDirectory;
  /** Default: the manager's bus. */
  bus?: Bus;
  /** Verifies admin bearer tokens (`streamkit::admin`). Absent: admin endpoints are open to local requests only. */
  authenticator?: Authenticator;
  /** Register the metrics here instead of in a registry of their own. */
  registry?: Registry;
  /** Also expose prom-client's default process metrics. Default true. */
  defaultMetrics?: boolean;
  /** Reported by `/version` and the status. Default: this package's version. */
  version?: string;
  /** Whether local requests (loopback, unix socket) may use admin endpoints without a token. Default true. */
  trustLoopback?: boolean;
  /** Decides what "local" means. Default: the unix socket, or loopback to a loopback host name without proxy headers. */
  isLocalRequest?: (request: IncomingMessage) => boolean;
  /** Serve the dashboard at `/` as well as `/dashboard`. Default true; false leaves `/` to the host app. */
  dashboardAtRoot?: boolean;
  /** How often rates are sampled and live status is pushed when it changed. Default 1 s. */
  statusIntervalMs?: number;
  /** Window of the rates. Default 10 s. */
  rateWindowMs?: number;
  /** How often the rate history (`/api/status/history`, the dashboard's charts at load) takes a sample. Default 5 s. */
  historyIntervalMs?: number;
  /** How far back the rate history reaches. Default 5 min. */
  historyWindowMs?: number;
  /** Heartbeat comment period of the status stream. Default 15 s. */
  heartbeatMs?: number;
  /** How often this instance announces itself on the bus. Default 5 s. */
  announceIntervalMs?: number;
  /** Where clients reach this instance (`http://host:port`), announced to the others; asked at each announcement, as it is known only once listening. */
  address?: () => string | undefined;
  /** Status streams open at once. Default 64. */
  maxStatusClients?: number;
  /** Recent errors the status carries. Default 20. */
  recentErrors?: number;
  logger?: Logger;
}

export type ResolvedOperatorOptions = Required<Omit<OperatorOptions, "streamz" | "authenticator" | "registry" | "address">> &
  Pick<OperatorOptions, "streamz" | "authenticator" | "registry" | "address">;

export const OPERATOR_DEFAULTS = {
  defaultMetrics: true,
  trustLoopback: true,
  dashboardAtRoot: true,
  statusIntervalMs: 1_000,
  rateWindowMs: 10_000,
  historyIntervalMs: 5_000,
  historyWindowMs: 300_000,
  heartbeatMs: 15_000,
  announceIntervalMs: 5_000,
  maxStatusClients: 64,
  recentErrors: 20,
} as const;

/** Merges the defaults and checks the options; mistakes are TypeErrors. */
export function resolveOperatorOptions(options: OperatorOptions): ResolvedOperatorOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const defined = definedOnly(options) as OperatorOptions;
  requireMethods(defined.manager, "manager", ["nodes", "circuits", "resetCircuit", "remove"]);
  requireMethods(defined.activity, "activity", ["snapshot", "storeTraffic", "recentErrors"]);
  if (defined.streamz !== undefined) requireMethods(defined.streamz, "streamz", ["connections", "closeConnection"]);
  if (defined.authenticator !== undefined) requireMethods(defined.authenticator, "authenticator", ["authenticate"]);
  if (defined.isLocalRequest !== undefined && typeof defined.isLocalRequest !== "function") throw new TypeError("isLocalRequest must be a function");
  const resolved: ResolvedOperatorOptions = {
    ...OPERATOR_DEFAULTS,
    bus: defined.manager.bus,
    version: packageVersion(),
    isLocalRequest,
    logger: silentLogger,
    ...defined,
  };
  for (const key of ["statusIntervalMs", "rateWindowMs", "historyIntervalMs", "historyWindowMs", "heartbeatMs", "announceIntervalMs", "maxStatusClients"] as const) {
    positiveInteger(resolved[key], key);
  }
  nonNegativeInteger(resolved.recentErrors, "recentErrors");
  if (typeof resolved.version !== "string") throw new TypeError("version must be a string");
  return resolved;
}
