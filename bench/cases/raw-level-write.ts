// Raw baseline: LevelDB synced chained batch writes of `batch` records of `size` bytes, one batch after another.
import { ClassicLevel } from "classic-level";
import { join } from "node:path";
import { payloadOf, perSecond, report, withTempDir } from "../harness.js";

const [batches = 400, batch = 100, size = 200] = process.argv.slice(2).map(Number);

await withTempDir(async (dir) => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, "raw"), { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  const key = (b: number, i: number) => {
    const k = new Uint8Array(8);
    const view = new DataView(k.buffer);
    view.setUint32(0, b);
    view.setUint32(4, i);
    return k;
  };
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const chained = db.batch();
    for (let i = 0; i < batch; i++) chained.put(key(b, i), payloadOf(size, b * batch + i));
    await chained.write({ sync: true });
  }
  const elapsed = performance.now() - started;
  await db.close();
  report({ value: perSecond(batches * batch, elapsed), unit: "records/s", detail: `${batches} synced chained batches of ${batch}` });
});
