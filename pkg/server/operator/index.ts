export { isLocalRequest } from "./admin-access.js";
export { createOperatorHandler, type OperatorHandler } from "./handler.js";
export type { InstanceStatus } from "./instances.js";
export { OPERATOR_DEFAULTS, type OperatorOptions } from "./options.js";
export type { HistorySample, RateHistoryAnswer } from "./history.js";
export type { TrafficRates } from "./rates.js";
export type { ConnectionStatus, OperatorStatus, StoreStatusRow } from "./status.js";
