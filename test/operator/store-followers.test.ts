import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameKinds, MessageTypes } from "../../pkg/api/internal/index.js";
import { createClient, type Entry } from "../../pkg/client/index.js";
import type { FollowerDetail, StoreDetail } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { records } from "../support/data.js";
import { RawClient } from "../support/ws-raw-client.js";
import { call, eventually, getStatus, mintToken, useServers, WAIT_MS } from "./support.js";

const servers = useServers();

afterEach(() => {
  vi.useRealTimers();
});

/** Reads `source` in the background into `into`, until the signal aborts. */
function drain(source: AsyncIterable<Entry>, into: Entry[]): Promise<void> {
  return (async () => {
    for await (const entry of source) into.push(entry);
  })().catch(() => undefined);
}

const byOp = (followers: readonly FollowerDetail[]): Map<string, FollowerDetail> => new Map(followers.map((follower) => [follower.op, follower]));

describe("operator endpoint: a store's open follows and their lag", () => {
  it("lists each follow with its connection, channel and position per space or segment; caught up, it is 0 behind", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"], "follower") }));
    const storeId = crypto.randomUUID();
    const url = `${server.url}/api/stores/${storeId}`;
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(WAIT_MS * 3)]);
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 3));
      await client.produce(storeId, "orders", "o-2", records(1, 2));
      await client.produce(storeId, "payments", "p-1", records(1, 1));
      const space: Entry[] = [];
      const segment: Entry[] = [];
      const both: Entry[] = [];
      const reading = [
        drain(client.consumeSpace(storeId, { space: "orders", follow: true }, { signal }), space),
        drain(client.consumeSegment(storeId, { space: "orders", segment: "o-1", follow: true }, { signal }), segment),
        drain(client.consume(storeId, { offsets: { orders: "", payments: "" }, follow: true }, { signal }), both),
      ];
      const settled = (body: StoreDetail): boolean => body.followers?.length === 3 && body.followers.every((follower) => follower.behind === 0);
      const detail = await eventually(async () => (await call<StoreDetail>(url)).body, settled, "three caught-up follows");
      expect(detail).toMatchObject({ followerCount: 3, followersTruncated: false });
      const connection = (await getStatus(server.url)).connections.find((candidate) => candidate.subject === "follower");
      expect(connection).toBeDefined();
      for (const follower of detail.followers) {
        expect(follower).toMatchObject({ connection: connection?.id, channel: expect.any(Number), since: expect.any(Number), lagMs: 0, lastTimestamp: expect.any(Number) });
      }
      expect(new Set(detail.followers.map((follower) => follower.channel)).size).toBe(3);
      const follows = byOp(detail.followers);
      // orders holds o-1's three entries at positions 1–3 and o-2's two at 4–5.
      expect(follows.get("consume_space")?.targets).toEqual([{ space: "orders", segment: null, position: 5, head: 5, behind: 0 }]);
      expect(follows.get("consume_segment")?.targets).toEqual([{ space: "orders", segment: "o-1", position: 3, head: 3, behind: 0 }]);
      expect(follows.get("consume")?.targets).toEqual([
        { space: "orders", segment: null, position: 5, head: 5, behind: 0 },
        { space: "payments", segment: null, position: 1, head: 1, behind: 0 },
      ]);

      // Positions move with what the follows take.
      await client.produce(storeId, "orders", "o-1", records(4, 2));
      const moved = await eventually(
        async () => (await call<StoreDetail>(url)).body,
        (body) => settled(body) && byOp(body.followers).get("consume_segment")?.targets[0]?.position === 5,
        "the follows to take the new entries",
      );
      expect(byOp(moved.followers).get("consume_space")?.targets[0]).toMatchObject({ position: 7, head: 7, behind: 0 });
      expect(byOp(moved.followers).get("consume")?.targets[0]).toMatchObject({ position: 7, head: 7, behind: 0 });
      expect([space.length, segment.length, both.length]).toEqual([7, 5, 8]);

      // A follow that ends leaves the list.
      stop.abort();
      await Promise.all(reading);
      await eventually(async () => (await call<StoreDetail>(url)).body, (body) => body.followerCount === 0, "the follows to end");
    } finally {
      stop.abort();
      await client.close();
    }
  });

  it("shows a follow held up by its client behind the head, in entries and in ms", async () => {
    const server = await servers.start({}, { store: "level" });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const raw = await RawClient.connect(`${server.wsUrl}/streamz`, { token: await mintToken(["streamkit::*"], "slow-reader") });
    const storeId = crypto.randomUUID();
    const url = `${server.url}/api/stores/${storeId}`;
    try {
      // 80 entries one second apart (the store stamps them with its clock), each too big to share a message.
      const payload = new Uint8Array(130 * 1024);
      const start = Date.now();
      vi.useFakeTimers({ toFake: ["Date"] });
      for (let sequence = 1; sequence <= 80; sequence++) {
        vi.setSystemTime(start + sequence * 1_000);
        await client.produce(storeId, "big", "g", [{ sequence, payload }]);
      }
      vi.useRealTimers();

      // Two follows from the start whose client never grants credit: each gets 32 messages, then waits.
      raw.open(1, storeId, { $type: MessageTypes.consumeSegment, space: "big", segment: "g", follow: true });
      raw.open(2, storeId, { $type: MessageTypes.consumeSpace, space: "big", follow: true });
      const sent = (channel: number): number => raw.on(channel).filter((frame) => frame.kind === FrameKinds.data).length;
      await raw.until(() => sent(1) >= 32 && sent(2) >= 32, "32 messages on each channel");

      const detail = await eventually(async () => (await call<StoreDetail>(url)).body, (body) => body.followerCount === 2, "both follows");
      const follows = byOp(detail.followers);
      const segment = follows.get("consume_segment");
      const [target] = segment?.targets ?? [];
      // It has taken what it sent and at most a read's chunk more, and no more can go until the client reads.
      expect(target?.position).toBeGreaterThanOrEqual(32);
      expect(target?.position).toBeLessThan(80);
      const position = target?.position ?? 0;
      expect(target).toEqual({ space: "big", segment: "g", position, head: 80, behind: 80 - position });
      expect(segment).toMatchObject({ behind: 80 - position, lastTimestamp: start + position * 1_000, lagMs: (80 - position) * 1_000 });
      expect(segment?.channel).toBe(1);

      // The space follow has not reached the live tail, so its head in positions is not known; its lag in ms is.
      const spaceFollow = follows.get("consume_space");
      const spacePosition = spaceFollow?.targets[0]?.position ?? 0;
      expect(spacePosition).toBeGreaterThanOrEqual(32);
      expect(spaceFollow).toMatchObject({ channel: 2, behind: null, lagMs: (80 - spacePosition) * 1_000, lastTimestamp: start + spacePosition * 1_000 });
    } finally {
      await raw.close();
      await client.close();
    }
  });

  it("lists at most 100 follows, the oldest first, with their count", async () => {
    const server = await servers.start();
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const url = `${server.url}/api/stores/${storeId}`;
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(WAIT_MS * 3)]);
    try {
      await client.produce(storeId, "s", "g", records(1, 1));
      const reading = Array.from({ length: 101 }, (_, i) => drain(client.consumeSpace(storeId, { space: `s-${i}`, follow: true }, { signal }), []));
      const detail = await eventually(async () => (await call<StoreDetail>(url)).body, (body) => body.followerCount === 101, "101 follows");
      expect(detail.followersTruncated).toBe(true);
      expect(detail.followers).toHaveLength(100);
      const since = detail.followers.map((follower) => follower.since);
      expect(since).toEqual([...since].sort((a, b) => a - b));
      stop.abort();
      await Promise.all(reading);
    } finally {
      stop.abort();
      await client.close();
    }
  });
});
