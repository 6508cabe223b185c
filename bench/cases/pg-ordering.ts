// The two ways the PostgreSQL store can order a space across instances (docs/deployment.md,
// "Ordering on PostgreSQL"), measured alike: `instances` factories (each its own pool, as separate
// server processes have) with `writers` producers each, every producer committing `batches` batches
// of `batch` records of 200 B to its own segment — all in one space, or each in its own space — while
// a follower on another instance reads the space(s) after the last position it saw. Reports records/s
// committed; the detail gives how long the follower took to see the last entry after the last commit.
import { randomUUID } from "node:crypto";
import type { Ordering } from "../../store/postgres/context.js";
import type { Store } from "../../store/types.js";
import { report } from "../harness.js";
import { type BenchStore, postgresStore, withPostgresSchema } from "../postgres.js";
import { recordsOf } from "../system.js";

const ordering = process.argv[2] as Ordering;
if (ordering !== "counter" && ordering !== "xid") throw new TypeError(`ordering must be counter or xid, got ${String(ordering)}`);
const spaces = process.argv[3] ?? "one";
if (spaces !== "one" && spaces !== "many") throw new TypeError(`spaces must be one or many, got ${spaces}`);
const [instances = 3, writers = 4, batches = 50, batch = 100] = process.argv.slice(4).map(Number);

await withPostgresSchema(async (schema) => {
  const opened: BenchStore[] = [];
  const stores: Store[] = [];
  const storeId = randomUUID();
  const open = async (i: number): Promise<Store> => {
    const bench = postgresStore(schema, { ordering }, `instance-${i}`);
    opened.push(bench);
    const store = await bench.factory.open(storeId);
    stores.push(store);
    return store;
  };
  try {
    const writerStores = await Promise.all(Array.from({ length: instances }, (_, i) => open(i)));
    const follower = await open(instances);
    const spaceOf = (w: number): string => (spaces === "one" ? "bench" : `bench-${w}`);
    const spaceNames = [...new Set(Array.from({ length: instances * writers }, (_, w) => spaceOf(w)))];
    const total = instances * writers * batches * batch;
    const sources = Array.from({ length: batches }, (_, b) => recordsOf(batch, b * batch + 1));
    // Warm-up: migrations, pools, prepared paths.
    await Promise.all(writerStores.map((store, i) => store.produce("warmup", `w${i}`, recordsOf(batch))));

    let seen = 0;
    let producing = true;
    const follow = async (): Promise<void> => {
      const after = new Map<string, number>();
      while (producing || seen < total) {
        for (const space of spaceNames) {
          for await (const chunk of follower.readSpaceChunks?.({ space, afterPosition: after.get(space) ?? 0 }) ?? []) {
            seen += chunk.length;
            after.set(space, chunk.at(-1)?.position ?? 0);
          }
        }
      }
    };
    const started = performance.now();
    let committedAt = 0;
    const writing = Promise.all(
      writerStores.flatMap((store, i) =>
        Array.from({ length: writers }, async (_, w) => {
          const writer = i * writers + w;
          for (const records of sources) await store.produce(spaceOf(writer), `segment-${writer}`, records);
        }),
      ),
    ).then(() => {
      committedAt = performance.now();
      producing = false;
    });
    await Promise.all([writing, follow()]);
    const caughtUp = performance.now();
    if (seen !== total) throw new Error(`follower saw ${seen} of ${total}`);
    report({
      value: Math.round((total / (committedAt - started)) * 1000),
      unit: "records/s",
      detail: `${ordering} ordering, ${instances} instances × ${writers} producers, ${spaces === "one" ? "one space" : "a space each"}, batches of ${batch}; follower saw the last entry ${Math.round(caughtUp - committedAt)} ms after the last commit`,
    });
  } finally {
    for (const store of stores) await store.close();
    for (const bench of opened) await bench.close();
  }
});
