// Produce throughput while a retention sweep removes `expired` old entries (and the level store
// reclaims them in the background), as a share of the same produce without a sweep
// (docs/lifecycle.md). One level store, in-process; 200-byte payloads, batches of 100.
import { payloadOf, perSecond, report, withTempDir } from "../harness.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import type { Record } from "../../pkg/api/index.js";

const [expired = 1_000_000, batches = 400, batch = 100, size = 200] = process.argv.slice(2).map(Number);
const FILL_BATCH = 1_000;
const OLD_SEGMENTS = 100;

const records = (from: number, count: number, seed: number): Record[] =>
  Array.from({ length: count }, (_, i) => ({ sequence: from + i, payload: payloadOf(size, seed + i) }));

await withTempDir(async (dataDir) => {
  const store = await createLevelStoreFactory({ dataDir }).open(crypto.randomUUID());
  try {
    // The old entries, an hour in the past: their timestamps come from the store's clock.
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000;
    const perSegment = Math.ceil(expired / OLD_SEGMENTS);
    for (let segment = 0; segment < OLD_SEGMENTS; segment++) {
      const fills: Promise<unknown>[] = [];
      for (let from = 1; from <= perSegment; from += FILL_BATCH) fills.push(store.produce("old", `s${segment}`, records(from, Math.min(FILL_BATCH, perSegment - from + 1), from)));
      await Promise.all(fills);
    }
    Date.now = realNow;
    await store.setRetention("old", { maxAgeMs: 60_000 });

    let next = 1;
    const produceRun = async (count: number): Promise<number> => {
      const started = performance.now();
      for (let b = 0; b < count; b++) {
        await store.produce("live", "g", records(next, batch, next));
        next += batch;
      }
      return perSecond(count * batch, performance.now() - started);
    };

    const alone = await produceRun(batches);
    // The same produce again, with the sweep (and its background reclaim) running throughout.
    const sweepStarted = performance.now();
    const sweep = store.enforceRetention();
    const during = await produceRun(batches);
    const swept = await sweep;
    const sweepMs = performance.now() - sweepStarted;
    report({
      value: Math.round((during / alone) * 1000) / 10,
      unit: "% of no sweep",
      detail: `${swept.entries} expired entries swept in ${Math.round(sweepMs)} ms; produce ${Math.round(during)} vs ${Math.round(alone)} records/s`,
      fields: { alone, during, swept: swept.entries, sweepMs },
    });
  } finally {
    await store.close();
  }
});
