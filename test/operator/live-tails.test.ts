import { describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { call, eventually, getStatus, mintToken, parseMetrics, useServers } from "./support.js";

const servers = useServers();
const PAYLOAD = new Uint8Array(200).fill(3);
/** Bound on each follower's read: a stall fails the test with `cancelled` instead of hanging. */
const READ_BOUND_MS = 30_000;

/** Reads a follow until `count` entries came; a stalled reader waits on `gate` after its first entry. */
async function readFollow(entries: AsyncIterable<unknown>, count: number, gate?: Promise<void>): Promise<number> {
  let seen = 0;
  for await (const _entry of entries) {
    seen++;
    if (seen === 1 && gate !== undefined) await gate;
    if (seen === count) break;
  }
  return seen;
}

describe("operator surface: shared live tails", () => {
  it("/api/status and /metrics show followers on the tails, their window bytes, and followers that fell behind", async () => {
    const server = await servers.start({}, { limits: { liveWindowBytes: 8 * 1024 } });
    const client: StreamsClient = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const stop = new AbortController();
    try {
      await client.publish(storeId, "orders", "o-1", PAYLOAD);
      const total = 301;
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(READ_BOUND_MS)]);
      const reads = [
        readFollow(client.consumeSpace(storeId, { space: "orders", follow: true }, { signal }), total),
        readFollow(client.consumeSpace(storeId, { space: "orders", follow: true }, { signal }), total, gate),
        readFollow(client.consumeSegment(storeId, { space: "orders", segment: "o-1", follow: true }, { signal }), total),
      ];
      const following = await eventually(() => getStatus(server.url), (s) => s.liveTails.followers === 3, "three followers on the tail");
      expect(following.liveTails).toMatchObject({ tails: 1, followers: 3 });
      expect(following.stores.find((store) => store.storeId === storeId)?.liveTails).toMatchObject({ tails: 1, followers: 3 });

      // 300 entries of 200 bytes go past an 8 KiB window while one follower is stalled.
      for (let i = 1; i < total; i++) await client.publish(storeId, "orders", "o-1", PAYLOAD);
      openGate();
      expect(await Promise.all(reads)).toEqual([total, total, total]);

      const after = await getStatus(server.url);
      expect(after.liveTails.fellBehind).toBeGreaterThanOrEqual(1);
      expect(after.liveTails.reads).toBeGreaterThan(0);
      expect(after.liveTails.joins).toBeGreaterThanOrEqual(3);
      const metrics = parseMetrics((await call<string>(`${server.url}/metrics`)).body);
      const label = `{store="${storeId}"}`;
      expect(metrics.get(`streamkit_live_tail_fell_behind_total${label}`)).toBe(after.liveTails.fellBehind);
      expect(metrics.get(`streamkit_live_tail_joins_total${label}`)).toBeGreaterThanOrEqual(3);
      expect(metrics.get(`streamkit_live_tail_reads_total${label}`)).toBeGreaterThan(0);
      // Window bytes are held only while the tail has followers, and never above the limit.
      expect(metrics.get(`streamkit_live_tail_window_bytes${label}`)).toBeLessThanOrEqual(8 * 1024);

      // Once every follow ended, the tail closed: no followers, no window, the counters kept.
      const idle = await eventually(() => getStatus(server.url), (s) => s.liveTails.tails === 0, "the tail to close");
      expect(idle.liveTails).toMatchObject({ followers: 0, windowBytes: 0, fellBehind: after.liveTails.fellBehind });
      const idleMetrics = parseMetrics((await call<string>(`${server.url}/metrics`)).body);
      expect(idleMetrics.get(`streamkit_live_tail_followers${label}`)).toBe(0);
      expect(idleMetrics.get(`streamkit_live_tail_fell_behind_total${label}`)).toBe(after.liveTails.fellBehind);
    } finally {
      stop.abort();
      await client.close();
    }
  }, 60_000);
});
