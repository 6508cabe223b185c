// Raw baseline: one LevelDB range scan (iterator nextv) over `count` entries of `size` bytes.
import { ClassicLevel } from "classic-level";
import { join } from "node:path";
import { payloadOf, perSecond, report, withTempDir } from "../harness.js";

const [count = 100_000, size = 200] = process.argv.slice(2).map(Number);

await withTempDir(async (dir) => {
  const path = join(dir, "raw");
  const filler = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
  await filler.open();
  for (let start = 0; start < count; start += 1000) {
    const chained = filler.batch();
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const key = new Uint8Array(8);
      new DataView(key.buffer).setUint32(4, i);
      chained.put(key, payloadOf(size, i));
    }
    await chained.write();
  }
  await filler.close();

  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  const started = performance.now();
  let seen = 0;
  const iterator = db.iterator();
  for (;;) {
    const chunk = await iterator.nextv(1000);
    if (chunk.length === 0) break;
    seen += chunk.length;
  }
  await iterator.close();
  const elapsed = performance.now() - started;
  await db.close();
  if (seen !== count) throw new Error(`scanned ${seen} of ${count}`);
  report({ value: perSecond(count, elapsed), unit: "entries/s", detail: `nextv(1000) over ${count}` });
});
