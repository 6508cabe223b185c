import { decodeBusRecord, encodeValue, isValidName, type WorkerInfo } from "../../api/internal/index.js";

// What the instances serving one store tell each other about its workers, on workersRoute(storeId).

/**
 * A worker held by the origin's stream: sent when it joins, at most every third of its stale window
 * while keepalives arrive, and in answer to a sync request. Receivers expire it after `staleMs`
 * without another.
 */
export interface WorkerPresent {
  kind: "present";
  /** Id of the registry (one store on one instance) that holds the worker's stream. */
  origin: string;
  /** Id of this registration: tells a replaced stream of a worker from its successor. */
  session: string;
  /** Grows each time the worker id is registered anew while known; orders rival registrations. */
  generation: number;
  worker: WorkerInfo;
  staleMs: number;
}

/** The registration `session` ended (stream closed, stale or replaced). */
export interface WorkerLeft {
  kind: "left";
  origin: string;
  session: string;
  workerId: string;
}

/** A registry that may have missed messages (new, or its bus reconnected) asks the others for their workers. */
export interface WorkersSync {
  kind: "sync";
  origin: string;
}

/** An instance answered a roll call (workers-roll-call.ts): every worker it holds was announced before this. */
export interface WorkersAnswered {
  kind: "answered";
  origin: string;
  /** The registry that asked. */
  to: string;
  /** The answering instance. */
  instance: string;
}

export type WorkersBusMessage = WorkerPresent | WorkerLeft | WorkersSync | WorkersAnswered;

export function encodeWorkersMessage(message: WorkersBusMessage): Uint8Array {
  return encodeValue(message);
}

const isString = (value: unknown): value is string => typeof value === "string" && value !== "";
const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

function isStringMap(value: unknown): value is { [key: string]: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((entry) => typeof entry === "string");
}

function isWorkerInfo(value: unknown): value is WorkerInfo {
  if (typeof value !== "object" || value === null) return false;
  const info = value as Partial<WorkerInfo>;
  return isValidName(info.workerId) && isCount(info.since) && isCount(info.lastSeen) && isStringMap(info.metadata);
}

/** Decodes a bus message; undefined for anything malformed (a bus carries what others publish). */
export function decodeWorkersMessage(bytes: Uint8Array): WorkersBusMessage | undefined {
  const message = decodeBusRecord(bytes);
  if (message === undefined || !isString(message.origin)) return undefined;
  switch (message.kind) {
    case "present": {
      const { origin, session, generation, worker, staleMs } = message;
      if (!isString(session) || !isCount(generation) || !isWorkerInfo(worker) || !isCount(staleMs) || staleMs === 0) return undefined;
      return {
        kind: "present",
        origin,
        session,
        generation,
        worker: { workerId: worker.workerId, since: worker.since, lastSeen: worker.lastSeen, metadata: { ...worker.metadata } },
        staleMs,
      };
    }
    case "left":
      if (!isString(message.session) || !isValidName(message.workerId)) return undefined;
      return { kind: "left", origin: message.origin, session: message.session, workerId: message.workerId };
    case "sync":
      return { kind: "sync", origin: message.origin };
    case "answered":
      if (!isString(message.to) || !isString(message.instance)) return undefined;
      return { kind: "answered", origin: message.origin, to: message.to, instance: message.instance };
    default:
      return undefined;
  }
}
