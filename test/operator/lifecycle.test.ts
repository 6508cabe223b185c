import { describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { records } from "../support/data.js";
import { call, eventually, getStatus, mintToken, parseMetrics, useServers } from "./support.js";

const servers = useServers();

const post = (url: string) => call<{ ok?: boolean; sweptEntries?: number; kind?: string }>(url, { method: "POST" });

describe("operator API: store usage, retention sweep and store delete", () => {
  it("reports each open store's entries and bytes in /api/status and /metrics; sweeps and deletes on request", async () => {
    const server = await servers.start({}, { store: "level" });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    try {
      await client.produce(storeId, "orders", "o-1", records(1, 20));
      await client.setRetention(storeId, "orders", { maxEntriesPerSegment: 5 });
      const measured = await eventually(
        () => getStatus(server.url),
        (status) => status.stores.some((store) => store.storeId === storeId && store.entries === 20),
        "the store's usage in the status",
      );
      // A shared LevelDB database measures a store approximately: a number, perhaps 0 while it sits in the memtable.
      expect(measured.stores.find((store) => store.storeId === storeId)?.bytes).toBeGreaterThanOrEqual(0);
      const metrics = parseMetrics((await call<string>(`${server.url}/metrics`)).body);
      expect(metrics.get(`streamkit_store_entries{store="${storeId}"}`)).toBe(20);
      expect(metrics.get(`streamkit_store_bytes{store="${storeId}"}`)).toBeGreaterThanOrEqual(0);

      const swept = await post(`${server.url}/api/admin/stores/${storeId}/sweep`);
      expect(swept.status).toBe(200);
      expect(swept.body).toEqual({ ok: true, storeId, sweptEntries: 15 });
      expect((await client.getStatus(storeId)).spaces[0]?.entryCount).toBe(5);
      await eventually(
        () => getStatus(server.url),
        (status) => status.stores.some((store) => store.storeId === storeId && store.entries === 5 && store.sweptEntries === 15),
        "the swept usage",
      );

      const deleted = await post(`${server.url}/api/admin/stores/${storeId}/delete`);
      expect(deleted.status).toBe(200);
      expect(await client.getSpaces(storeId)).toEqual([]);
      expect((await post(`${server.url}/api/admin/stores/not-a-uuid/delete`)).status).toBe(400);
    } finally {
      await client.close();
    }
  });
});
