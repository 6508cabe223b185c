import { createHash } from "node:crypto";
import { StreamsError } from "../../pkg/api/index.js";
import type { StreamsClient } from "../../pkg/client/index.js";

/**
 * What the protocol keeps about a stream beside its data (docs/http.md, Mapping): one record per
 * change, appended to the stream's own segment of the reserved space META_SPACE. The latest record is
 * the stream's state; writing one at the next sequence is a compare-and-set, so every instance over
 * shared storage agrees on creates, deletes and fork references.
 */
export const META_SPACE = "_durable_streams";

export type StreamLife = "open" | "soft-deleted" | "deleted";

export interface StreamMeta {
  contentType: string;
  ttlSeconds?: number;
  /** Absolute expiry, ms since epoch. */
  expiresAt?: number;
  createdAt: number;
  /** The data segment's head sequence when this stream was created: its entries come after it. */
  base: number;
  /** A fork inherits the first `position` data entries of the stream at `path`. */
  fork?: { path: string; position: number; offset: string; subOffset: number };
  /** Forks that read this stream's data. */
  refs: number;
  life: StreamLife;
}

/** A stream's state record and its version (the sequence it was written at; 0 when none). */
export interface MetaVersion {
  meta: StreamMeta | undefined;
  version: number;
}

/** Where a stream lives: its data segment, and the path clients name it by. */
export interface StreamRef {
  storeId: string;
  space: string;
  segment: string;
  path: string;
}

export const streamKey = (ref: StreamRef): string => `${ref.storeId}\u0000${ref.space}\u0000${ref.segment}`;

/** Segment names are at most 256 bytes, so a stream's record segment is named by a hash of its address. */
function metaSegment(ref: StreamRef): string {
  return createHash("sha256").update(`${ref.space}\u0000${ref.segment}`).digest("hex");
}

export async function loadMeta(client: StreamsClient, ref: StreamRef): Promise<MetaVersion> {
  const latest = await client.peek(ref.storeId, META_SPACE, metaSegment(ref));
  if (latest.sequence === 0) return { meta: undefined, version: 0 };
  return { meta: JSON.parse(new TextDecoder().decode(latest.payload)) as StreamMeta, version: latest.sequence };
}

/** Writes the next record if the stream is still at `version`; false when another write got there first. */
export async function storeMeta(client: StreamsClient, ref: StreamRef, version: number, meta: StreamMeta): Promise<boolean> {
  const payload = new TextEncoder().encode(JSON.stringify(meta));
  try {
    await client.produce(ref.storeId, META_SPACE, metaSegment(ref), [{ sequence: version + 1, payload }]);
    return true;
  } catch (error) {
    if (error instanceof StreamsError && error.kind === "sequence_conflict") return false;
    throw error;
  }
}

/** Applies `change` to the latest record until it lands (bounded: concurrent writers of one stream's record are rare). */
export async function updateMeta(
  client: StreamsClient,
  ref: StreamRef,
  change: (current: MetaVersion) => StreamMeta | undefined,
): Promise<StreamMeta | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const current = await loadMeta(client, ref);
    const next = change(current);
    if (next === undefined) return current.meta;
    if (await storeMeta(client, ref, current.version, next)) return next;
  }
  throw new StreamsError("unavailable", "stream state kept changing; try again", { retryAfterMs: 50 });
}

/** Whether a stream has expired at `now` given when it was last used. */
export function expired(meta: StreamMeta, lastUse: number, now: number): boolean {
  if (meta.expiresAt !== undefined && now >= meta.expiresAt) return true;
  return meta.ttlSeconds !== undefined && now >= lastUse + meta.ttlSeconds * 1000;
}
