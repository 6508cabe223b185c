import { type LeaseRequest, type LeaseResult, MessageTypes } from "../api/internal/index.js";
import { optionalNumber, optionalString, requireObject, requireSignal, requireString } from "./args.js";
import type { Connection } from "./connection.js";
import type { LeaseClient } from "./lease-types.js";
import { timeoutOf } from "./request-options.js";
import { withoutType } from "./replies.js";
import { unary } from "./unary.js";
import { type KeyLeaseCalls, withLease } from "./with-lease.js";

async function leaseCall(connection: Connection, storeId: string, request: LeaseRequest, signal: AbortSignal | undefined, timeoutMs: number): Promise<LeaseResult> {
  return withoutType(await unary(connection, storeId, request, MessageTypes.leaseResult, { signal, timeoutMs, write: true }));
}

function requireNumber(value: unknown, name: string): number {
  const number = optionalNumber(value, name);
  if (number === undefined) throw new TypeError(`${name} must be a number, got undefined`);
  return number;
}

/** `waitMs`: absent = no bound (Infinity); else a number ≥ 0. */
function waitBound(value: unknown): number {
  const waitMs = optionalNumber(value, "options.waitMs") ?? Number.POSITIVE_INFINITY;
  if (Number.isNaN(waitMs) || waitMs < 0) throw new TypeError(`options.waitMs must be a number >= 0, got ${waitMs}`);
  return waitMs;
}

/** The lease methods of the SDK (types checked here; values such as the TTL range are the server's to judge). */
export function leaseMethods(connection: Connection): LeaseClient {
  /** `timeoutMs`: the deadline of each call (of each acquire, renew and release withLease makes). */
  const callsFor = (storeId: string, key: string, timeoutMs: number): KeyLeaseCalls => ({
    acquire: (holder, ttlMs, signal) => leaseCall(connection, storeId, { $type: MessageTypes.leaseAcquire, key, holder, ttlMs }, signal, timeoutMs),
    renew: (holder, ttlMs, signal) => leaseCall(connection, storeId, { $type: MessageTypes.leaseRenew, key, holder, ttlMs }, signal, timeoutMs),
    release: (holder, signal) => leaseCall(connection, storeId, { $type: MessageTypes.leaseRelease, key, holder }, signal, timeoutMs),
  });

  /** Checks the arguments every lease call shares; returns the options' fields, signal and deadline. */
  const check = (storeId: unknown, key: unknown, options: unknown) => {
    requireString(storeId, "storeId");
    requireString(key, "key");
    const fields = requireObject(options, "options");
    return { fields, signal: requireSignal(fields.signal, "options.signal"), timeoutMs: timeoutOf(fields, connection.requestTimeoutMs) };
  };

  return {
    async acquireLease(storeId, key, options) {
      const { fields, signal, timeoutMs } = check(storeId, key, options);
      requireString(fields.holder, "options.holder");
      const ttlMs = requireNumber(fields.ttlMs, "options.ttlMs");
      return callsFor(storeId, key, timeoutMs).acquire(fields.holder, ttlMs, signal);
    },

    async renewLease(storeId, key, options) {
      const { fields, signal, timeoutMs } = check(storeId, key, options);
      requireString(fields.holder, "options.holder");
      const ttlMs = requireNumber(fields.ttlMs, "options.ttlMs");
      return callsFor(storeId, key, timeoutMs).renew(fields.holder, ttlMs, signal);
    },

    async releaseLease(storeId, key, options) {
      const { fields, signal, timeoutMs } = check(storeId, key, options);
      requireString(fields.holder, "options.holder");
      return callsFor(storeId, key, timeoutMs).release(fields.holder, signal);
    },

    async withLease(storeId, key, options, fn) {
      const { fields, signal, timeoutMs } = check(storeId, key, options);
      const ttlMs = requireNumber(fields.ttlMs, "options.ttlMs");
      const waitMs = waitBound(fields.waitMs);
      const holder = optionalString(fields.holder, "options.holder") ?? crypto.randomUUID();
      if (typeof fn !== "function") throw new TypeError("fn must be a function");
      connection.assertOpen();
      return withLease(callsFor(storeId, key, timeoutMs), { key, holder, ttlMs, waitMs, signal }, fn);
    },
  };
}
