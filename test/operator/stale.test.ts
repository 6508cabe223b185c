import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MessageTypes } from "../../pkg/api/index.js";
import type { ConnectionStatus, OperatorStatus } from "../../pkg/server/index.js";
import { RawClient } from "../support/ws-raw-client.js";
import { eventually, getStatus, mintToken, SseReader, useServers, WAIT_MS } from "./support.js";

const PING_MS = 1_000;

// Only intervals are faked: the server's ping clock (and the status ticks) advance when the test says,
// while sockets, HTTP and every bounded wait run on real time.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
});
afterEach(() => {
  vi.useRealTimers();
});

const servers = useServers();

const connectionOf = (status: OperatorStatus, subject: string): ConnectionStatus | undefined =>
  status.connections.find((connection) => connection.subject === subject);

let channel = 0;

/**
 * Advances the server's clock by one ping period and waits until `healthy` has answered the ping and
 * the server has read that pong: the pong goes out as the ping arrives, before the frame of a round
 * trip on the same socket, which the server reads after it.
 */
async function pingPeriod(healthy: RawClient): Promise<void> {
  const pinged = once(healthy.socket, "ping", { signal: AbortSignal.timeout(WAIT_MS) });
  vi.advanceTimersByTime(PING_MS);
  await pinged;
  channel++;
  healthy.open(channel, "not-a-store-id", { $type: MessageTypes.getSpaces });
  await healthy.errorOn(channel);
}

describe("connection tracking", () => {
  it("marks a connection whose pongs stopped stale after one missed interval, then drops it", async () => {
    const server = await servers.start({}, { limits: { pingIntervalMs: PING_MS } });
    const stream = await SseReader.open(`${server.url}/api/status/stream`);
    const lazy = await RawClient.connect(`${server.wsUrl}/streamz`, { token: await mintToken(["streamkit::*"], "lazy"), autoPong: false });
    const healthy = await RawClient.connect(`${server.wsUrl}/streamz`, { token: await mintToken(["streamkit::*"], "healthy") });
    try {
      const status = () => getStatus(server.url);
      expect(connectionOf(await status(), "lazy")).toMatchObject({ stale: false, lastHeartbeat: null });

      // First ping: both owe a pong; only the healthy peer answers. Owing one pong is not stale yet.
      await pingPeriod(healthy);
      const first = await status();
      expect(connectionOf(first, "lazy")).toMatchObject({ stale: false, lastHeartbeat: null });
      expect(connectionOf(first, "healthy")).toMatchObject({ stale: false, lastHeartbeat: expect.any(Number) });

      // Second ping: the lazy peer left the first unanswered for a whole interval.
      await pingPeriod(healthy);
      const second = await status();
      expect(connectionOf(second, "lazy")?.stale).toBe(true);
      expect(connectionOf(second, "healthy")?.stale).toBe(false);
      expect(second.counts.staleConnections).toBe(1);
      const live = await stream.nextStatus((s) => connectionOf(s, "lazy")?.stale === true, "the stale mark in the status stream");
      expect(live.counts.staleConnections).toBe(1);

      // Third period: the lazy peer missed two pongs and is dropped; the healthy one stays.
      await pingPeriod(healthy);
      expect((await lazy.closed).code).toBe(1006);
      const third = await eventually(status, (s) => connectionOf(s, "lazy") === undefined, "the stale connection to be removed");
      expect(connectionOf(third, "healthy")?.stale).toBe(false);
      expect(third.counts.staleConnections).toBe(0);

      // The status stream reports the removal on its next tick (the same faked clock).
      await pingPeriod(healthy);
      await stream.nextStatus((s) => connectionOf(s, "lazy") === undefined && s.counts.staleConnections === 0, "the removal in the status stream");
    } finally {
      stream.close();
      await healthy.close();
    }
  });
});
