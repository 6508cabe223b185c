import { decodeAny, encodeValue } from "../../api/internal/index.js";
import type { Logger } from "../../api/logger.js";
import type { Bus } from "../../../bus/types.js";
import { workersRoute } from "./notifications.js";
import { encodeWorkersMessage } from "./workers-messages.js";

/**
 * Every instance listens here, whether or not it has the store open, so that a registry opening on
 * one instance can ask all the others for their workers and know when each has answered
 * (docs/workers.md, "Across instances").
 */
export const ROLL_CALL_ROUTE = "sk.workers.roll-call";
/** Where instances announce themselves (pkg/server/operator/instances.ts); the roll call learns its peers from it. */
const INSTANCES_ROUTE = "sk.instances";
/** A peer silent for this many of its announcement intervals is not waited for. */
const STALE_AFTER = 3;

interface RollCallRequest {
  storeId: string;
  /** The asking registry. */
  origin: string;
  /** The asking instance (it does not answer itself). */
  instance: string;
}

/** What a registry that exists on an answering instance does: announce its workers, then the answer. */
export type RegistryAnswer = (to: string) => void;

export interface WorkersRollCallOptions {
  bus: Bus;
  /** This instance's id, as it announces itself. */
  instance: string;
  /** The answer of the store's workers registry on this instance, if it has one. */
  registryOf(storeId: string): RegistryAnswer | undefined;
  logger: Logger;
}

/**
 * One per instance: asks the other instances for a store's workers on behalf of a registry that just
 * opened, and answers such requests from them. An instance without the store's registry has no
 * workers of it and answers at once that it has none.
 */
export class WorkersRollCall {
  readonly #options: WorkersRollCallOptions;
  readonly #peers = new Map<string, { lastSeen: number; intervalMs: number }>();
  readonly #unsubscribes: Promise<(() => Promise<void>) | undefined>[];

  constructor(options: WorkersRollCallOptions) {
    this.#options = options;
    const listen = (route: string, handler: (bytes: Uint8Array) => void) =>
      options.bus.subscribe(route, handler).catch((error: unknown) => {
        options.logger.warn({ err: error, route }, "workers roll call: cannot listen on the bus");
        return undefined;
      });
    this.#unsubscribes = [listen(ROLL_CALL_ROUTE, (bytes) => this.#onRequest(bytes)), listen(INSTANCES_ROUTE, (bytes) => this.#onAnnouncement(bytes))];
  }

  /**
   * Sends the request for `storeId` and returns the instances expected to answer: those heard
   * recently. Empty when the bus cannot carry the request now.
   */
  request(storeId: string, origin: string): string[] {
    const { bus, instance } = this.#options;
    if (!bus.connected) return [];
    const now = Date.now();
    const expected = [...this.#peers].filter(([, peer]) => now - peer.lastSeen <= STALE_AFTER * peer.intervalMs).map(([id]) => id);
    if (expected.length > 0) bus.publish(ROLL_CALL_ROUTE, encodeValue({ storeId, origin, instance } satisfies RollCallRequest));
    return expected;
  }

  async close(): Promise<void> {
    const unsubscribes = await Promise.all(this.#unsubscribes);
    for (const unsubscribe of unsubscribes) await unsubscribe?.().catch(() => undefined);
  }

  #onRequest(bytes: Uint8Array): void {
    const request = decodeRequest(bytes);
    const { bus, instance } = this.#options;
    if (request === undefined || request.instance === instance) return;
    const answer = this.#options.registryOf(request.storeId);
    if (answer !== undefined) {
      answer(request.origin);
      return;
    }
    bus.publish(workersRoute(request.storeId), encodeWorkersMessage({ kind: "answered", origin: `instance:${instance}`, to: request.origin, instance }));
  }

  #onAnnouncement(bytes: Uint8Array): void {
    try {
      const value = decodeAny(bytes) as { nodeId?: unknown; intervalMs?: unknown } | null;
      const { nodeId, intervalMs } = value ?? {};
      if (typeof nodeId !== "string" || nodeId === this.#options.instance || typeof intervalMs !== "number" || intervalMs <= 0) return;
      this.#peers.set(nodeId, { lastSeen: Date.now(), intervalMs });
    } catch {
      // Not an announcement: ignored.
    }
  }
}

function decodeRequest(bytes: Uint8Array): RollCallRequest | undefined {
  try {
    const value = decodeAny(bytes) as Partial<RollCallRequest> | null;
    if (typeof value?.storeId !== "string" || typeof value.origin !== "string" || typeof value.instance !== "string") return undefined;
    return { storeId: value.storeId, origin: value.origin, instance: value.instance };
  } catch {
    return undefined;
  }
}
