import { MessageTypes, type Request, type Retention } from "../api/internal/index.js";
import { optionalBoolean, optionalObject, requireObject, requireString } from "./args.js";
import type { Connection } from "./connection.js";
import type { LifecycleClient } from "./lifecycle-types.js";
import { withoutType } from "./replies.js";
import { requestSettings } from "./request-options.js";
import { unary } from "./unary.js";

/** `{ purge: true }` for a hard purge, nothing otherwise (servers before purge accept the request as it was). */
function purgeOf(options: unknown): { purge?: true } {
  return optionalBoolean(optionalObject(options, "options").purge, "options.purge") === true ? { purge: true } : {};
}

function requireSequence(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${value === null ? "null" : typeof value}`);
}

/** The lifecycle methods of the SDK (docs/lifecycle.md); types checked here, values by the server. */
export function lifecycleMethods(connection: Connection): LifecycleClient {
  /** Every lifecycle call but getRetention changes the store. */
  const call = (options: unknown, write = true) => ({ ...requestSettings(options, connection.requestTimeoutMs), write });
  const status = async (storeId: string, request: Request, options: unknown) =>
    withoutType(await unary(connection, storeId, request, MessageTypes.segmentStatus, call(options)));
  const retention = async (storeId: string, request: Request, options: unknown, write: boolean): Promise<Retention> =>
    (await unary(connection, storeId, request, MessageTypes.retention, call(options, write))).retention;

  return {
    async deleteSegment(storeId, space, segment, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireString(segment, "segment");
      return status(storeId, { $type: MessageTypes.deleteSegment, space, segment, ...purgeOf(options) }, options);
    },

    async deleteSpace(storeId, space, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      const request: Request = { $type: MessageTypes.deleteSpace, space, ...purgeOf(options) };
      const reply = await unary(connection, storeId, request, MessageTypes.segmentStatuses, call(options));
      return reply.statuses;
    },

    async deleteStore(storeId, options?) {
      requireString(storeId, "storeId");
      await unary(connection, storeId, { $type: MessageTypes.deleteStore }, MessageTypes.done, call(options));
    },

    async truncateSegment(storeId, space, segment, beforeSequence, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireString(segment, "segment");
      requireSequence(beforeSequence, "beforeSequence");
      return status(storeId, { $type: MessageTypes.truncateSegment, space, segment, beforeSequence }, options);
    },

    async closeSegment(storeId, space, segment, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireString(segment, "segment");
      return status(storeId, { $type: MessageTypes.closeSegment, space, segment }, options);
    },

    async setRetention(storeId, space, bounds, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      requireObject(bounds, "retention");
      return retention(storeId, { $type: MessageTypes.setRetention, space, retention: bounds }, options, true);
    },

    async getRetention(storeId, space, options?) {
      requireString(storeId, "storeId");
      requireString(space, "space");
      return retention(storeId, { $type: MessageTypes.getRetention, space }, options, false);
    },
  };
}
