import { decodeAny, encodeValue } from "../../api/internal/index.js";
import type { Bus } from "../../../bus/types.js";
import type { Logger } from "../../api/logger.js";

/** Every instance announces itself here; each one listens to learn the others. */
export const INSTANCES_ROUTE = "sk.instances";

/** Another server instance as this one last heard of it. */
export interface InstanceStatus {
  nodeId: string;
  version: string;
  /** Milliseconds since epoch (its clock). */
  startedAt: number;
  /** When this instance last heard from it (this clock). */
  lastSeen: number;
  connections: number;
  /** Where clients reach it, as it announced; null when it did not say. */
  address: string | null;
  /** Its load: logical streams open on its connections. */
  streams: number;
  /** Missed three of its announcements: probably gone. */
  stale: boolean;
}

interface Announcement {
  nodeId: string;
  version: string;
  startedAt: number;
  connections: number;
  address: string | null;
  streams: number;
  intervalMs: number;
}

interface Heard extends Announcement {
  lastSeen: number;
}

/** An instance that missed this many announcements is stale; at FORGET_AFTER it is dropped. */
const STALE_AFTER = 3;
const FORGET_AFTER = 12;

function decodeAnnouncement(bytes: Uint8Array): Announcement | undefined {
  try {
    const value = decodeAny(bytes) as Partial<Announcement> | null;
    if (typeof value?.nodeId !== "string" || typeof value.intervalMs !== "number" || value.intervalMs <= 0) return undefined;
    return {
      nodeId: value.nodeId,
      version: typeof value.version === "string" ? value.version : "unknown",
      startedAt: typeof value.startedAt === "number" ? value.startedAt : 0,
      connections: typeof value.connections === "number" ? value.connections : 0,
      address: typeof value.address === "string" ? value.address : null,
      streams: typeof value.streams === "number" ? value.streams : 0,
      intervalMs: value.intervalMs,
    };
  } catch {
    return undefined;
  }
}

export interface InstanceBeaconOptions {
  bus: Bus;
  nodeId: string;
  version: string;
  startedAt: number;
  intervalMs: number;
  connections(): number;
  /** Logical streams open on this instance's connections. */
  streams(): number;
  address(): string | undefined;
  logger: Logger;
}

/**
 * Announces this instance on the bus every `intervalMs` (a few dozen bytes) and keeps what it
 * hears from the others, so the status can list every instance sharing the bus with its last-seen time.
 */
export class InstanceBeacon {
  readonly #options: InstanceBeaconOptions;
  readonly #heard = new Map<string, Heard>();
  readonly #timer: ReturnType<typeof setInterval>;
  #unsubscribe: Promise<(() => Promise<void>) | undefined>;

  constructor(options: InstanceBeaconOptions) {
    this.#options = options;
    this.#unsubscribe = options.bus.subscribe(INSTANCES_ROUTE, (bytes) => this.#onAnnouncement(bytes)).then(
      (unsubscribe) => {
        this.#announce(); // once listening, so instances that answer in kind are heard
        return unsubscribe;
      },
      (error: unknown) => {
        options.logger.warn({ err: error }, "cannot listen for other instances on the bus");
        return undefined;
      },
    );
    this.#timer = setInterval(() => this.#announce(), options.intervalMs);
    this.#timer.unref?.();
  }

  /** Other instances heard within the last FORGET_AFTER intervals, sorted by node id. */
  instances(now = Date.now()): InstanceStatus[] {
    const list: InstanceStatus[] = [];
    for (const [nodeId, heard] of this.#heard) {
      const silentFor = now - heard.lastSeen;
      if (silentFor > FORGET_AFTER * heard.intervalMs) {
        this.#heard.delete(nodeId);
        continue;
      }
      const { nodeId: _id, intervalMs, ...rest } = heard;
      list.push({ nodeId, ...rest, stale: silentFor > STALE_AFTER * intervalMs });
    }
    return list.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    const unsubscribe = await this.#unsubscribe;
    this.#unsubscribe = Promise.resolve(undefined);
    await unsubscribe?.().catch(() => undefined);
  }

  #announce(): void {
    const { nodeId, version, startedAt, intervalMs } = this.#options;
    const announcement: Announcement = {
      nodeId,
      version,
      startedAt,
      intervalMs,
      connections: this.#options.connections(),
      address: this.#options.address() ?? null,
      streams: this.#options.streams(),
    };
    this.#options.bus.publish(INSTANCES_ROUTE, encodeValue(announcement));
  }

  #onAnnouncement(bytes: Uint8Array): void {
    const announcement = decodeAnnouncement(bytes);
    if (announcement === undefined || announcement.nodeId === this.#options.nodeId) return;
    this.#heard.set(announcement.nodeId, { ...announcement, lastSeen: Date.now() });
  }
}
