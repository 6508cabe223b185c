import { describe, expect, it } from "vitest";
import { createClient } from "../../pkg/client/index.js";
import type { RateHistoryAnswer } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { records } from "../support/data.js";
import { call, eventually, mintToken, useServers } from "./support.js";

const servers = useServers();

describe("operator endpoint: the last minutes of rates", () => {
  it("/api/status/history keeps 5 s samples of the last 5 minutes by default", async () => {
    const server = await servers.start();
    const answer = await call<RateHistoryAnswer>(`${server.url}/api/status/history`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.body).toEqual({ intervalMs: 5_000, windowMs: 300_000, samples: [] });
  });

  it("samples produced, consumed and error rates per interval, oldest first, at most window / interval of them", async () => {
    const server = await servers.start({ operator: { historyIntervalMs: 50, historyWindowMs: 500 } });
    const client = createClient(createWsProvider(server.wsUrl, { token: await mintToken(["streamkit::*"]) }));
    const storeId = crypto.randomUUID();
    const url = `${server.url}/api/status/history`;
    try {
      await client.produce(storeId, "s", "g", records(1, 100));
      let read = 0;
      for await (const _entry of client.consumeSpace(storeId, { space: "s" })) read++;
      expect(read).toBe(100);
      await expect(client.produce(storeId, "s", "g", records(7, 1))).rejects.toMatchObject({ kind: "sequence_conflict" });

      const history = await eventually(
        async () => (await call<RateHistoryAnswer>(url)).body,
        (body) => body.samples.some((sample) => sample.produced > 0) && body.samples.some((sample) => sample.consumed > 0) && body.samples.some((sample) => sample.errors > 0),
        "samples with the traffic and the error",
      );
      expect(history).toMatchObject({ intervalMs: 50, windowMs: 500 });
      for (const sample of history.samples) expect(sample).toEqual({ at: expect.any(Number), produced: expect.any(Number), consumed: expect.any(Number), errors: expect.any(Number) });
      const at = history.samples.map((sample) => sample.at);
      expect(at).toEqual([...at].sort((a, b) => a - b));

      // Bounded: a ring of 500 / 50 = 10 samples; the oldest go as new ones come.
      const lengths: number[] = [];
      const first = history.samples[0]?.at ?? 0;
      await eventually(
        async () => (await call<RateHistoryAnswer>(url)).body,
        (body) => {
          lengths.push(body.samples.length);
          return (body.samples[0]?.at ?? 0) > first;
        },
        "the oldest sample to go",
      );
      expect(Math.max(...lengths)).toBeLessThanOrEqual(10);
      // A quiet interval is a sample of zeros, not a gap.
      const quiet = await eventually(async () => (await call<RateHistoryAnswer>(url)).body, (body) => body.samples.every((sample) => sample.produced === 0), "quiet samples");
      expect(quiet.samples.at(-1)).toMatchObject({ produced: 0, consumed: 0, errors: 0 });
    } finally {
      await client.close();
    }
  });
});
