import { describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { records } from "../support/data.js";
import { RawClient } from "../support/ws-raw-client.js";
import { mintToken, SseReader, useServers } from "./support.js";

const servers = useServers();

describe("/api/status/stream", () => {
  it("sends a snapshot at once, then shows a client connecting and disconnecting", async () => {
    const server = await servers.start();
    const stream = await SseReader.open(`${server.url}/api/status/stream`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      expect(stream.headers.get("cache-control")).toBe("no-store");
      const retry = await stream.next(() => true, "the retry hint");
      expect(retry).toMatchObject({ event: undefined, data: "" });
      const snapshot = await stream.nextStatus(() => true, "the first snapshot");
      expect(snapshot.connections).toEqual([]);

      const client = await RawClient.connect(`${server.wsUrl}/streamz`, {
        token: await mintToken(["streamkit::*"], "sse-watcher"),
        headers: { "user-agent": "sse-test/1.0" },
      });
      const connected = await stream.nextStatus((s) => s.connections.length === 1, "the new connection");
      expect(connected.connections[0]).toMatchObject({ subject: "sse-watcher", userAgent: "sse-test/1.0", clientAddress: "127.0.0.1", stale: false });
      expect(connected.counts.connections).toBe(1);

      await client.close();
      const gone = await stream.nextStatus((s) => s.connections.length === 0, "the connection to go");
      expect(gone.counts.connections).toBe(0);
    } finally {
      stream.close();
    }
  });

  it("shows traffic as it happens: totals, rates and the store", async () => {
    const server = await servers.start();
    const stream = await SseReader.open(`${server.url}/api/status/stream`);
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      await stream.nextStatus(() => true, "the first snapshot");
      await client.produce(storeId, "orders", "o-1", records(1, 50));
      const busy = await stream.nextStatus((s) => s.totals.entriesProduced === 50 && s.rates.entriesProducedPerSec > 0, "the produce in totals and rates");
      expect(busy.stores.find((store) => store.storeId === storeId)).toMatchObject({ node: "open" });
      expect(busy.stores.find((store) => store.storeId === storeId)!.entriesProducedPerSec).toBeGreaterThan(0);
    } finally {
      stream.close();
      await client.close();
    }
  });

  it("answers only GET", async () => {
    const server = await servers.start();
    const answer = await fetch(`${server.url}/api/status/stream`, { method: "HEAD" });
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("GET");
  });
});
