import type { SegmentStatus } from "../../api/index.js";
import type { StreamsClient } from "../../client/index.js";

/**
 * Every segment's head in a space as a status subscription's snapshot gives them (deleted segments
 * included, flagged), then the subscription ends: one round trip however many segments there are.
 */
export async function spaceSnapshot(client: StreamsClient, storeId: string, space: string, signal: AbortSignal): Promise<SegmentStatus[]> {
  const statuses = new Map<string, SegmentStatus>();
  let snapshot = true;
  const subscription = await client.subscribeToSpace(
    storeId,
    space,
    (status) => {
      // Live news after the snapshot is not part of it.
      if (snapshot && status.heartbeat !== true) statuses.set(status.segment, status);
    },
    { signal },
  );
  snapshot = false;
  await subscription.unsubscribe();
  return [...statuses.values()].sort((a, b) => (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
}
